"""The native objects behind a route (Envoy config, Kubernetes objects) as highlighted YAML."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from connectors.base import Connector

from ..highlight import highlight_yaml
from ..widgets.key_hints import KeyHints
from .base import ConsoleScreen


class NativeRead(Message, bubble=False):
    """A route's native objects (Envoy config, Kubernetes objects) as YAML text, read in a worker."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class YamlScreen(ConsoleScreen):
    VIEW = "yaml"
    DEFAULT_CSS = """
    YamlScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,y", "back", "Back", id="view.close"),
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
            self._read_native(connector, self.route_name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="native", name="native")
    def _read_native(self, connector: Connector, name: str) -> NativeRead:
        return NativeRead(connector.native_objects(name))

    def on_native_read(self, message: NativeRead) -> None:
        self.query_one("#yaml", Static).update(highlight_yaml(message.text))

    def worker_failed(self, name: str, error: BaseException) -> bool:
        self.query_one("#yaml", Static).update(
            Content.styled(f"cannot read the native objects: {error}", "$text-error")
        )
        return False
