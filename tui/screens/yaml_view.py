"""The native objects behind a route (Envoy config, Kubernetes objects) as highlighted YAML."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ..highlight import highlight_yaml
from ..widgets.key_hints import KeyHints
from .base import ConsoleScreen


class YamlScreen(ConsoleScreen):
    VIEW = "yaml"
    DEFAULT_CSS = """
    YamlScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,y", "back", "Back"),
    ]

    def __init__(self, route_name: str) -> None:
        super().__init__()
        self.route_name = route_name

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        with VerticalScroll(id="body"):
            yield Static(Content.styled(f"{self.route_name}: loading…", "$text-muted"), id="yaml")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#body").focus()
        self.action_refresh()

    def focus_body(self) -> None:
        self.query_one("#body").focus()

    def selected_route(self) -> str | None:
        return self.route_name

    def action_refresh(self) -> None:
        connector = self.console.connector
        if connector is not None:
            name = self.route_name
            self.run_worker(
                lambda: connector.native_objects(name),
                thread=True,
                exclusive=True,
                name="native",
                exit_on_error=False,
            )

    def worker_succeeded(self, name: str, result: Any) -> None:
        if name == "native" and isinstance(result, str):
            self.query_one("#yaml", Static).update(highlight_yaml(result))

    def worker_failed(self, name: str, error: BaseException) -> bool:
        self.query_one("#yaml", Static).update(
            Content.styled(f"cannot read the native objects: {error}", "$text-error")
        )
        return False
