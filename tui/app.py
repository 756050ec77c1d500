"""The operator console: a Textual app over one ``Connector``.

The connection (open, attach, poll, metrics) is ``tui.link.GatewayLink``; this module adds what the
operator works with: views as Textual modes (routes, policies, history, connect), so ``:routes``
returns to where the operator was; the ``:`` commands and the palette; themes; settings and the
keymap from ``console.yaml``. Screens live in ``tui/screens`` and reach the app only through
``tui.host.ConsoleHost``; everything that blocks runs in a worker thread.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from connectors.paths import state_dir

from . import commands
from .config import ConsoleConfig, load_config, save_setting
from .keymap import unknown_binding_ids
from .link import GatewayAttached, GatewayLink
from .textual_compat import mark_styled
from .themes import DEFAULT_THEME, app_variables, load_themes, next_theme
from .type_ahead import KeyHold
from .widgets.command_line import CommandLine

if TYPE_CHECKING:
    from connectors.base import Connector

    from .host import ConsoleHost


def _view(module_name: str, class_name: str) -> Callable[[], Screen[Any]]:
    """A mode's first screen, imported when the mode is first shown (start-up loads only the one it
    opens), marked as styled with the current stylesheet (see ``textual_compat.mark_styled``)."""

    def make() -> Screen[Any]:
        screen_class = getattr(importlib.import_module(module_name), class_name)
        return mark_styled(screen_class())

    return make


VIEWS: dict[str, Callable[[], Screen[Any]]] = {
    "routes": _view("tui.screens.routes", "RoutesScreen"),
    "policies": _view("tui.screens.policies", "PoliciesScreen"),
    "history": _view("tui.screens.history", "HistoryScreen"),
    "connect": _view("tui.screens.connect", "ConnectScreen"),
}
GATEWAY_VIEWS = ("routes", "policies", "history")  # what they show belongs to one gateway

# Screens other engineers add later; opened lazily so the console runs without them.
OPTIONAL_SCREENS = {
    "triage": ("tui.screens.triage", "TriageScreen"),
    "canary": ("tui.screens.canary", "CanaryScreen"),
    "charts": ("tui.screens.charts", "ChartsScreen"),
    "proxies": ("tui.screens.proxies", "ProxiesScreen"),
    "health": ("tui.screens.health", "HealthScreen"),
    "timeboxes": ("tui.screens.timeboxes", "TimeboxesScreen"),
    "match": ("tui.screens.match", "MatchScreen"),
}


class KeymapChecked(Message, bubble=False):
    """The keymap's binding ids that no binding of the console has."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__()
        self.unknown = unknown


class ConsoleApp(GatewayLink):
    """``ConsoleApp(connector)`` opens the routes view on it; ``ConsoleApp(opener=f)`` opens the routes
    view at once and the connector ``f()`` returns in a worker (it is then the console's to close);
    ``ConsoleApp()`` opens Connect."""

    TITLE = "gatewayctl"
    CSS_PATH = str(Path(__file__).with_name("console.tcss"))  # absolute: subclasses live elsewhere
    MODES: ClassVar[dict[str, Any]] = dict(VIEWS)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("ctrl+t", "next_theme", "Theme", show=False, id="app.next_theme"),
    ]

    def __init__(
        self,
        connector: Connector | None = None,
        *,
        opener: Callable[[], Connector] | None = None,
        readonly: bool = False,
        prometheus: str | None = None,
        stops_on_quit: str | None = None,
    ) -> None:
        # Settings and themes are read before Textual builds its stylesheet (in App.__init__, through
        # get_css_variables), so the first frame is styled once, in the right theme.
        loaded = load_config()
        self.settings: ConsoleConfig = loaded.config
        self._config_problems = [str(p) for p in loaded.problems]
        self._themes_ready = False
        # The first view is the start-up mode (not a switch_mode after mounting, which would
        # restyle every widget twice before the first frame).
        wanted = connector is not None or opener is not None
        self.DEFAULT_MODE = "routes" if wanted else "connect"  # type: ignore[misc]
        super().__init__(opener, readonly=readonly, prometheus=prometheus)
        self._initial_connector = connector
        self.stops_on_quit = stops_on_quit  # e.g. the demo: quitting stops its gateway
        self.key_hold = KeyHold(self)

    # -- start-up -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self._config_problems:
            self.notify("\n".join(self._config_problems), title="Settings ignored", severity="warning")
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))

    def on_ready(self) -> None:
        """The first frame is on screen: only now talk to the gateway, so start-up never waits on it."""
        if self._initial_connector is not None:
            self.attach(self._initial_connector)
        elif self._opener is not None:
            self._start_open()
        if self.settings.keymap:
            self._check_keymap(tuple(binding_id for binding_id, _ in self.settings.keymap))

    @work(thread=True, exit_on_error=False, group="config", name="keymap")
    def _check_keymap(self, ids: tuple[str, ...]) -> KeymapChecked:
        """Report keymap ids no binding has (it imports every screen: in a thread, after the first
        frame, and only when there is a keymap)."""
        return KeymapChecked(unknown_binding_ids(ids))

    def on_keymap_checked(self, message: KeymapChecked) -> None:
        if message.unknown:
            self.notify(
                f"keymap: unknown binding id(s) {', '.join(message.unknown)} (ids are listed in the README)",
                title="Settings ignored",
                severity="warning",
            )

    def _register_own_themes(self) -> None:
        """Our themes, and the configured one selected without a restyle (set_reactive)."""
        self._themes_ready = True
        for theme in load_themes():
            self.register_theme(theme)
        wanted = self.settings.theme
        if wanted not in self.available_themes:
            self._config_problems.append(f"theme: unknown theme {wanted!r}")
            wanted = DEFAULT_THEME
        self.set_reactive(App.theme, wanted)
        self.add_class(f"-theme-{wanted}")
        self.set_class(self.current_theme.dark, "-dark-mode")
        self.set_class(not self.current_theme.dark, "-light-mode")

    def get_css_variables(self) -> dict[str, str]:
        if not self._themes_ready:
            self._register_own_themes()
        variables = app_variables(super().get_css_variables())
        self.theme_variables = variables
        return variables

    # -- views, commands, themes ----------------------------------------------------------------

    def adopt_demo(self, runner: Any) -> None:
        """Operate the demo the Connect screen started; it is stopped when the console exits."""
        self._demo = runner
        self.attach(runner.ctx.connector)

    def connector_changed(self) -> None:
        # Views of the previous gateway start afresh when next shown (the current one follows the
        # reactive attributes). remove_mode drops a mode's screens if it has any.
        for mode in GATEWAY_VIEWS:
            if mode != self.current_mode:
                self.remove_mode(mode)
                self.add_mode(mode, self.MODES[mode])

    @on(GatewayAttached)
    def _canaries_left_over(self, message: GatewayAttached) -> None:
        """A canary run that a console or command which died left on this gateway is reported, with
        resume or abort."""
        from .screens.canary_left import check_left_over

        if self.connector is not None:
            check_left_over(self, message.attached.info.title, self.connector)

    # -- quitting -------------------------------------------------------------------------------

    def quit_costs(self) -> list[str]:
        """What quitting now would lose or stop, in the operator's words (empty: nothing)."""
        costs = [cost for screen in self.screen_stack if (cost := getattr(screen, "quit_cost", _none)())]
        stops = self.stops_on_quit
        if stops is None and self._demo is not None:
            stops = "the demo gateway"
        if stops:
            # Whether Envoy still listens is said as it is now (not answering once the link is lost).
            from .live import gateway_now
            from .widgets.status_bar import listener_urls

            listeners = listener_urls(self.info.details.get("listeners", "") if self.info is not None else "")
            now = gateway_now(self.connection, listeners)
            costs.append(f"quitting stops {stops}{now}, its backends and its traffic")
        return costs

    def request_quit(self) -> None:
        """Quit; first ask when that would lose an edit or stop the demo (``q``, ``:q``, ctrl+q/c)."""
        from .screens.confirm import ConfirmScreen

        costs = self.quit_costs()
        if not costs:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen("Quit gatewayctl?", costs, yes="Quit", no="Stay"), answered)

    async def action_quit(self) -> None:
        self.request_quit()

    def action_help_quit(self) -> None:
        """ctrl+c quits, as in k9s (asking first when that would lose something)."""
        self.request_quit()

    # -- navigation (k9s: a ``:`` jump starts from the view, esc goes back one screen) -----------

    def show_view(self, mode: str) -> None:
        """``:routes``, ``:history``...: that view as it is now. What was opened over the current view
        is closed first, so no old screen resurfaces later and the stack never grows; the other views
        therefore never hold more than their own first screen."""
        self.leave_then(lambda: self.switch_mode(mode) if mode != self.current_mode else None)

    def run_console_command(self, text: str) -> None:
        """What the ``:`` prompt runs (``routes``, ``theme light``, ``canary shop``...). Keys typed after
        its ⏎ are held until the screen it leaves on top has mounted and taken focus (its queue runs
        this callback after its mount and resume), then go there."""
        commands.run(self, text)
        self.screen.call_later(self.call_later, self._release_keys)

    # -- keys typed ahead of a prompt's ⏎ (tui.type_ahead) ---------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self.key_hold.intercept(event):
                return
            focused = self.focused
            if event.key == "enter" and isinstance(focused, CommandLine) and focused.has_class("-open"):
                self.key_hold.hold()
        await super().on_event(event)

    def on_command_line_done(self, message: CommandLine.Done) -> None:
        self._release_keys()

    def _release_keys(self) -> None:
        from .screens.confirm import ConfirmScreen

        # Nothing typed before a question was on screen may answer it.
        self.key_hold.release(drop=isinstance(self.screen, ConfirmScreen))

    def open_optional(self, key: str, *args: Any) -> None:
        """Open a screen that another part of the project provides, if it exists yet, over the current
        view's first screen (what was over it is closed first, as for every ``:`` jump). Already on
        it (same route): stay."""
        module_name, class_name = OPTIONAL_SCREENS[key]
        try:
            screen_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            self.notify(f"The {key} view is not available yet.", title="Not available", severity="warning")
            return
        if _showing(self.screen, screen_class, args):
            return
        self.leave_then(lambda: self.push_screen(screen_class(*args)))

    def leave_then(self, then: Callable[[], object]) -> None:
        """Close every screen over the current view's first one, then ``then()``; asks first when
        closing them would lose an unapplied edit or stop a running canary."""
        from .screens.confirm import ConfirmScreen

        costs = [cost for screen in self.screen_stack[1:] if (cost := getattr(screen, "quit_cost", _none)())]
        if costs and isinstance(self.screen, ConfirmScreen):
            return

        def leave(yes: bool | None = True) -> None:
            if yes:
                while len(self.screen_stack) > 1:
                    self.pop_screen()
                then()

        if costs:
            self.push_screen(ConfirmScreen("Leave this view?", costs, yes="Leave", no="Stay"), leave)
        else:
            leave()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Toasts never parse markup: they carry route names, regexes and gateway errors, where a ``[``
        is text, not a style tag."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """The palette's Screenshot: saved in ~/Downloads, else the tool's state folder, and the toast
        says where (or why it could not be saved)."""
        folder = Path(path).expanduser() if path else screenshot_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(folder), time_format)
        except OSError as exc:
            self.notify(
                f"Could not write in {folder}: {exc.strerror or exc}",
                title="Screenshot failed",
                severity="error",
            )
            return None
        self.notify(saved, title="Screenshot saved", timeout=8)
        return saved

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_next_theme(self) -> None:
        self.theme = next_theme(self.theme)
        self.notify(f"Theme: {self.theme}", timeout=2)

    def watch_theme(self, theme: str) -> None:
        if self.is_running and theme != self.settings.theme:
            self.settings = replace(self.settings, theme=theme)
            self._save_setting("theme", theme)

    def remember_target(self, key: str) -> None:
        self.settings = replace(self.settings, last_target=key)
        self._save_setting("last_target", key)

    @work(thread=True, exit_on_error=False, group="config", name="save-setting")
    def _save_setting(self, key: str, value: Any) -> None:
        save_setting(key, value)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":  # say where it goes
                command = SystemCommand(
                    "Screenshot", f"Save an SVG of the screen in {screenshot_folder()}", command.callback
                )
            yield command
        yield from commands.palette(self, screen)


def screenshot_folder() -> Path:
    """Where screenshots go: ~/Downloads when there is one, else <state>/screenshots."""
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else state_dir() / "screenshots"


def _none() -> None:
    return None


def _showing(screen: Screen[Any], screen_class: type[Screen[Any]], args: tuple[Any, ...]) -> bool:
    """Whether ``screen`` already is what opening ``screen_class(*args)`` would show: same class and
    the same route (args are the connector, then the route when there is one)."""
    if type(screen) is not screen_class or len(args) > 2:
        return False
    route = args[1] if len(args) == 2 else None
    getter = getattr(screen, "selected_route", None)
    return route is None or (callable(getter) and getter() == route)


if TYPE_CHECKING:

    def _satisfies_host(app: ConsoleApp) -> ConsoleHost:
        return app  # mypy checks that the app gives screens everything ConsoleHost promises
