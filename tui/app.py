"""The operator console: a Textual app over one ``Connector``.

The app owns the connection: it attaches to the connector in a worker, then polls it with a
self-rescheduling timer (``tui.live``) and publishes what it sees as reactive attributes —
``connection``, ``routes``, ``snapshot``, ``capabilities`` — that screens watch. Views are Textual
modes (routes, policies, history, connect), so ``:routes`` returns to where the operator was.
Screens live in ``tui/screens``; everything that blocks runs in a worker thread.
"""

from __future__ import annotations

import gc
import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer

from connectors.capabilities import Capabilities
from connectors.errors import GatewayError

from . import commands
from .config import ConsoleConfig, load_config, save_setting
from .live import (
    Attached,
    Backoff,
    ConnectionState,
    MetricsFound,
    PollResult,
    attach,
    drift_summary,
    open_metrics,
    poll_once,
)
from .outcomes import WorkerOutcomes, report_error
from .themes import DEFAULT_THEME, app_variables, load_themes, next_theme

if TYPE_CHECKING:
    # Types only: importing the metrics package loads its HTTP clients, too slow for start-up.
    from connectors.base import Connector, GatewayInfo
    from connectors.metrics.types import Snapshot
    from connectors.model import Route


def _styled_now(screen: Screen[Any]) -> Screen[Any]:
    """Mark a new view as styled with the current stylesheet. Its widgets are styled as they mount;
    without this Textual re-parses every stylesheet source when a mode's first screen is created
    (its CSS counter starts behind the app's), about a tenth of the console's start-up."""
    from textual._context import active_app

    screen._css_update_count = active_app.get()._css_update_count
    return screen


def _routes_view() -> Screen[Any]:
    from .screens.routes import RoutesScreen

    return _styled_now(RoutesScreen())


def _policies_view() -> Screen[Any]:
    from .screens.policies import PoliciesScreen

    return _styled_now(PoliciesScreen())


def _history_view() -> Screen[Any]:
    from .screens.history import HistoryScreen

    return _styled_now(HistoryScreen())


def _connect_view() -> Screen[Any]:
    from .screens.connect import ConnectScreen

    return _styled_now(ConnectScreen())


FREEZE_AT = 1000  # routes from which the loaded model is frozen out of the cyclic GC
ROUTES_EVERY = 5  # polls between route list refreshes (metrics refresh on every poll)

# Screens other engineers add later; opened lazily so the console runs without them.
OPTIONAL_SCREENS = {
    "triage": ("tui.screens.triage", "TriageScreen"),
    "canary": ("tui.screens.canary", "CanaryScreen"),
    "charts": ("tui.screens.charts", "ChartsScreen"),
}


class ConsoleApp(WorkerOutcomes, App[None]):
    """``ConsoleApp(connector)`` opens the routes view on it; ``ConsoleApp(opener=f)`` opens the routes
    view at once and the connector ``f()`` returns in a worker (it is then the console's to close);
    ``ConsoleApp()`` opens Connect."""

    TITLE = "gatewayctl"
    CSS_PATH = str(Path(__file__).with_name("console.tcss"))  # absolute: subclasses live elsewhere
    # Views are imported when first shown, so start-up loads only the one it opens.
    MODES: ClassVar[dict[str, Any]] = {
        "routes": _routes_view,
        "policies": _policies_view,
        "history": _history_view,
        "connect": _connect_view,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+t", "next_theme", "Theme", show=False),
    ]

    connection: var[ConnectionState] = var(ConnectionState())
    routes: var[tuple[Route, ...]] = var((), always_update=True)
    snapshot: var[Snapshot | None] = var(None, always_update=True)
    capabilities: var[Capabilities] = var(Capabilities())

    def __init__(
        self,
        connector: Connector | None = None,
        *,
        opener: Callable[[], Connector] | None = None,
        readonly: bool = False,
        prometheus: str | None = None,
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
        super().__init__()
        self.connector: Connector | None = None
        self._owned = False
        self._demo: Any = None  # a DemoRunner started from the Connect screen
        self._initial_connector = connector
        self._opener = opener
        self._open_lock = threading.Lock()  # guards _quitting: a connector opened after quitting is closed
        self._quitting = False
        self.readonly = readonly
        self.prometheus = prometheus
        self.info: GatewayInfo | None = None
        self.metrics_source: Any = None
        self.routes_loaded = False
        self._backoff = Backoff()
        self._poll_timer: Timer | None = None
        self._polls = 0
        self._want_routes = True
        self._metrics_asked = False
        self._last_unexpected = ""  # the unexpected poll error last shown

    # -- start-up -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self._config_problems:
            self.notify("\n".join(self._config_problems), title="Settings ignored", severity="warning")

    def on_ready(self) -> None:
        """The first frame is on screen: only now talk to the gateway, so start-up never waits on it."""
        if self._initial_connector is not None:
            self.attach(self._initial_connector)
        elif self._opener is not None:
            self._start_open()

    def _start_open(self) -> None:
        """Open the connector in a worker: its imports, config and first contact come after the first
        frame, and a gateway that is not there yet is shown and retried like a lost one."""
        self._poll_timer = None
        self.connection = ConnectionState("connecting", readonly=self.readonly)
        self.run_worker(
            self._open, thread=True, group="poll", exclusive=True, exit_on_error=False, name="open"
        )

    def _open(self) -> Connector | None:
        assert self._opener is not None
        connector = self._opener()
        with self._open_lock:
            if not self._quitting:
                return connector
        connector.close()  # the console quit while it was opening
        return None

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

    # -- the connection -------------------------------------------------------------------------

    def attach(self, connector: Connector, *, owned: bool = False) -> None:
        """Operate ``connector`` from now on. ``owned``: the console opened it, so closes it when done
        (a connector handed in by the caller stays the caller's)."""
        previous, old_metrics = self.connector, self.metrics_source
        if previous is not None and previous is not connector and self._owned:
            self.run_worker(previous.close, thread=True, group="close", name="close", exit_on_error=False)
        if old_metrics is not None and callable(getattr(old_metrics, "close", None)):
            self.run_worker(old_metrics.close, thread=True, group="close", exit_on_error=False)
        self._owned = owned
        if self.readonly:
            connector.readonly = True  # the connector refuses apply() too, not only the UI
        self.connector = connector
        self.info = None
        self.metrics_source = None
        self.routes_loaded = False
        self.snapshot = None
        self.routes = ()
        self.capabilities = connector.capabilities() if connector.readonly else Capabilities()
        self._metrics_asked = False
        self._backoff.reset()
        self._stop_polling()
        self.connection = ConnectionState("connecting", readonly=connector.readonly)
        for mode in ("routes", "policies", "history"):
            if mode != self.current_mode and mode in self._screen_stacks:
                self.remove_mode(mode)
                self.add_mode(mode, self.MODES[mode])
        self._start_attach()

    def adopt_demo(self, runner: Any) -> None:
        """Operate the demo the Connect screen started; it is stopped when the console exits."""
        self._demo = runner
        self.attach(runner.ctx.connector)

    def _start_attach(self) -> None:
        self._poll_timer = None
        if self.connector is not None:
            self.run_worker(
                partial(attach, self.connector),
                thread=True,
                group="poll",
                exclusive=True,
                exit_on_error=False,
                name="attach",
            )

    def _start_poll(self) -> None:
        self._poll_timer = None
        if self.connector is None:
            return
        want_routes = self._want_routes or self._polls % ROUTES_EVERY == 0
        self._want_routes = False
        self._polls += 1
        self.run_worker(
            partial(poll_once, self.connector, self.metrics_source, want_routes=want_routes),
            thread=True,
            group="poll",
            exclusive=True,
            exit_on_error=False,
            name="poll",
        )

    def _stop_polling(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None

    def _schedule(self, delay: float, callback: Any) -> None:
        self._stop_polling()
        self._poll_timer = self.set_timer(delay, callback)

    def refresh_now(self) -> None:
        """Re-read routes and figures now (ctrl+r, after an apply)."""
        self._want_routes = True
        if self.connector is None:
            if self._opener is not None and self._poll_timer is not None:  # waiting to retry the open
                self._stop_polling()
                self.call_later(self._start_open)
            return
        if self._poll_timer is not None:  # idle between polls: poll now instead of waiting
            self._stop_polling()
            self.call_later(self._start_attach if self.info is None else self._start_poll)

    def worker_succeeded(self, name: str, result: Any) -> None:
        if name == "open" and result is not None:
            self.attach(result, owned=True)
        elif name == "attach" and isinstance(result, Attached):
            self.info = result.info
            self.capabilities = result.capabilities
            self._want_routes = True
            self._start_poll()
        elif name == "poll" and isinstance(result, PollResult):
            self._poll_finished(result)
            if self.metrics_source is None and not self._metrics_asked and self.connector is not None:
                # Once the routes are on screen: the metrics package is slow to import.
                self._metrics_asked = True
                self.run_worker(
                    partial(open_metrics, self.connector, self.prometheus),
                    thread=True,
                    group="metrics",
                    exclusive=True,
                    exit_on_error=False,
                    name="metrics",
                )
        elif name == "metrics" and isinstance(result, MetricsFound):
            self.metrics_source = result.source
            if result.note:
                self.notify(result.note, title="Metrics", severity="warning")

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name in ("open", "attach", "poll"):
            retry = {"open": self._start_open, "attach": self._start_attach, "poll": self._start_poll}[name]
            self._connection_lost(error, retry=retry)
            if name == "open" and isinstance(error, GatewayError) and str(error) != self._last_unexpected:
                self._last_unexpected = str(error)  # e.g. no such gateway: say it once, keep retrying
                report_error(self, error)
            # A bug that fails every poll is shown once, not once per retry.
            text = f"{type(error).__name__}: {error}"
            if not isinstance(error, GatewayError) and text != self._last_unexpected:
                self._last_unexpected = text
                report_error(self, error)
            return True
        return False

    def _poll_finished(self, result: PollResult) -> None:
        if not result.ok:
            assert result.error is not None
            self._want_routes = True
            self._connection_lost(result.error, retry=self._start_poll)
            return
        was = self.connection.status
        if was != "connected":
            self._backoff.reset()
            self._last_unexpected = ""
            info = self.info
            self.connection = ConnectionState(
                "connected",
                gateway=info.title if info else "",
                endpoint=info.endpoint if info else "",
                readonly=self.connector.readonly if self.connector else self.readonly,
            )
            if was == "lost":
                self.notify("The gateway answers again.", title="Connection restored")
            for line in self.connector.notices() if self.connector else ():
                self.notify(line, title="Interrupted change reconciled", timeout=15)
        if result.drift is not None and drift_summary(result.drift) != self.connection.drift:
            self.connection = replace(self.connection, drift=drift_summary(result.drift))
        if result.routes is not None and (not self.routes_loaded or result.routes != self.routes):
            self.routes_loaded = True
            self.routes = result.routes
            if len(result.routes) >= FREEZE_AT:
                # Thousands of routes and their table rows are long-lived: move them out of the cyclic
                # GC's reach, or every full collection (~100 ms at 10,000 routes) stalls a keystroke.
                # They are acyclic, so reference counting still frees them when replaced.
                gc.freeze()
        if self.metrics_source is not None:
            self.snapshot = result.snapshot
        self._schedule(self.settings.refresh_seconds, self._start_poll)

    def _connection_lost(self, error: BaseException, retry: Any) -> None:
        delay = self._backoff.next_delay()
        info = self.info
        self.connection = ConnectionState(
            "lost",
            gateway=info.title if info else self.connection.gateway,
            reason=str(error).splitlines()[0] if str(error) else type(error).__name__,
            retry_in=delay,
            readonly=self.connection.readonly,
        )
        self._schedule(delay, retry)

    # -- views, commands, themes ----------------------------------------------------------------

    def show_view(self, mode: str) -> None:
        self.switch_mode(mode)

    def run_console_command(self, text: str) -> None:
        """What the ``:`` prompt runs (``routes``, ``theme light``, ``canary shop``...)."""
        commands.run(self, text)

    def open_optional(self, key: str, *args: Any) -> None:
        """Open a screen that another part of the project provides, if it exists yet."""
        module_name, class_name = OPTIONAL_SCREENS[key]
        try:
            screen_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            self.notify(f"The {key} view is not available yet.", title="Not available", severity="warning")
            return
        self.push_screen(screen_class(*args))

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

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_next_theme(self) -> None:
        self.theme = next_theme(self.theme)
        self.notify(f"Theme: {self.theme}", timeout=2)

    def watch_theme(self, theme: str) -> None:
        if self.is_running and theme != self.settings.theme:
            self.settings = ConsoleConfig(theme, self.settings.last_target, self.settings.refresh_seconds)
            self.run_worker(
                partial(save_setting, "theme", theme), thread=True, group="config", exit_on_error=False
            )

    def remember_target(self, key: str) -> None:
        self.settings = ConsoleConfig(self.settings.theme, key, self.settings.refresh_seconds)
        self.run_worker(
            partial(save_setting, "last_target", key), thread=True, group="config", exit_on_error=False
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from commands.palette(self, screen)

    def on_unmount(self) -> None:
        with self._open_lock:
            self._quitting = True
        self._stop_polling()
        metrics, connector, demo = self.metrics_source, self.connector, self._demo
        self.connector = self.metrics_source = self._demo = None

        def close() -> None:
            if metrics is not None and callable(getattr(metrics, "close", None)):
                metrics.close()
            if connector is not None and self._owned:
                connector.close()
            if demo is not None:
                demo.stop()

        # A thread with a time limit, so a hung gateway cannot hang the exit.
        closer = threading.Thread(target=close, name="console-close", daemon=True)
        closer.start()
        closer.join(timeout=10)
