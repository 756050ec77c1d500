"""Connect: the gateways this operator can reach — native gateways, kubeconfig contexts, the demo.

Discovery and opening run in workers; the last choice is remembered in the settings file and
pre-selected next time. A gateway that cannot be opened shows why and the list stays.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from connectors.base import Connector
from connectors.registry import Target, discover_targets, grouped, is_open, open_target

from ..outcomes import superseded
from ..widgets.key_hints import KeyHints
from .base import ConsoleScreen

DEMO_KEY = "demo"


def start_demo() -> Any:
    """Blocking: start the embedded demo (backends, a real Envoy, traffic); returns its runner."""
    from connectors.demo.runner import DemoRunner

    runner = DemoRunner()
    runner.start()
    return runner


class ConnectScreen(ConsoleScreen):
    VIEW = "connect"
    DEFAULT_CSS = """
    ConnectScreen #intro { padding: 1 2; color: $text-muted; }
    ConnectScreen OptionList { height: 1fr; margin: 0 2 1 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Connect", key_display="⏎", show=False, id="connect.open"),
        Binding("ctrl+r", "refresh", "Rescan", id="view.refresh"),
    ]

    class TargetsFound(Message, bubble=False):
        """The gateways this operator can reach."""

        def __init__(self, targets: list[Target]) -> None:
            super().__init__()
            self.targets = targets

    class Opened(Message, bubble=False):
        """A gateway chosen here is open (``key`` is its Target.key)."""

        def __init__(self, connector: Connector, key: str) -> None:
            super().__init__()
            self.connector = connector
            self.key = key

    class DemoStarted(Message, bubble=False):
        """The embedded demo is running (``runner`` is its DemoRunner)."""

        def __init__(self, runner: Any) -> None:
            super().__init__()
            self.runner = runner

    def __init__(self) -> None:
        super().__init__()
        self.targets: dict[str, Target] = {}
        self._section = "native"

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static(
            "Choose a gateway and press enter. Native gateways are the ones `gatewayctl-tui up` started; "
            "Kubernetes contexts come from your kubeconfig.",
            id="intro",
        )
        yield OptionList(
            Option(Content.styled("looking for gateways…", "$text-muted"), disabled=True), id="targets"
        )
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.query_one(OptionList).focus()

    def focus_body(self) -> None:
        self.query_one(OptionList).focus()

    def focus_section(self, section: str) -> None:
        """``:ctx`` lands on the Kubernetes contexts, ``:gateways`` on the native gateways."""
        self._section = section
        if self.targets:  # otherwise the list is still being discovered and highlights it then
            self._highlight_section()

    def action_refresh(self) -> None:
        self._discover()

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover", name="discover")
    def _discover(self) -> TargetsFound:
        return self.TargetsFound(discover_targets())

    def _highlight_section(self) -> None:
        options = self.query_one(OptionList)
        wanted_kind = "kube" if self._section == "kube" else "native"
        current = self.console.connector
        last = self.console.settings.last_target
        best = None
        for index in range(options.option_count):
            option_id = options.get_option_at_index(index).id or ""
            target = self.targets.get(option_id)
            if target is None:
                continue
            if target.kind == wanted_kind and best is None:
                best = index
            if last and target.key == last and self._section == "native" and current is None:
                best = index
                break
        if best is None:  # nothing of the wanted kind: the first thing that can be opened
            best = next(
                (i for i in range(options.option_count) if not options.get_option_at_index(i).disabled), None
            )
        if best is not None:
            options.highlighted = best

    def on_connect_screen_targets_found(self, message: TargetsFound) -> None:
        self._show_targets(message.targets)

    def on_connect_screen_opened(self, message: Opened) -> None:
        self.console.remember_target(message.key)
        self.console.attach(message.connector, owned=True)
        self.console.show_view("routes")

    def on_connect_screen_demo_started(self, message: DemoStarted) -> None:
        self.console.adopt_demo(message.runner)
        self.console.show_view("routes")

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name in ("open", "demo"):
            self.query_one("#intro", Static).update(
                Content.styled(f"Could not connect: {error}", "$text-error")
            )
        return False

    def _show_targets(self, targets: list[Target]) -> None:
        self.targets = {t.key: t for t in targets}
        options = self.query_one(OptionList)
        options.clear_options()
        current = self.console.info.title if self.console.info else None
        for factory, members in grouped(targets):
            title, empty = factory.title, factory.empty
            options.add_option(Option(Content.styled(title, "bold $text-primary"), disabled=True))
            if not members:
                options.add_option(Option(Content.styled(f"  {empty}", "$text-muted"), disabled=True))
            for target in members:
                mark = "  ● " if current and is_open(target, current) else "    "
                label = Content.assemble(
                    mark,
                    Content.styled(target.name, "bold"),
                    Content.styled(
                        f"  {target.detail}" + (f"  ns {target.namespace}" if target.namespace else ""),
                        "$text-muted",
                    ),
                )
                options.add_option(Option(label, id=target.key))
        options.add_option(Option(Content.styled("Demo", "bold $text-primary"), disabled=True))
        options.add_option(
            Option(
                Content.assemble(
                    "    ",
                    Content.styled("start the demo", "bold"),
                    Content.styled("  two backends, a real Envoy and traffic on this machine", "$text-muted"),
                ),
                id=DEMO_KEY,
            )
        )
        self._highlight_section()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id or "")

    def action_open(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._open(options.get_option_at_index(options.highlighted).id or "")

    def _open(self, key: str) -> None:
        if key == DEMO_KEY:
            self.query_one("#intro", Static).update("Starting the demo (backends, Envoy, traffic)…")
            self._start_demo()
            return
        target = self.targets.get(key)
        if target is None:
            return
        self.query_one("#intro", Static).update(Content(f"Connecting to {target.name}…"))
        self._open_target(target, self.console.readonly)

    @work(thread=True, exclusive=True, exit_on_error=False, group="open", name="demo")
    def _start_demo(self) -> DemoStarted | None:
        runner = start_demo()
        if superseded():
            runner.stop()  # another choice replaced this one while the demo started
            return None
        return self.DemoStarted(runner)

    @work(thread=True, exclusive=True, exit_on_error=False, group="open", name="open")
    def _open_target(self, target: Target, readonly: bool) -> Opened | None:
        connector = open_target(target, readonly=readonly)
        if superseded():
            connector.close()  # another choice replaced this one while it opened
            return None
        return self.Opened(connector, target.key)
