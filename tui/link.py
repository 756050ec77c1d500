"""The console's live link to one gateway: open, attach, poll, metrics — each a thread worker.

``GatewayLink`` is the App layer that owns the connection. It attaches to the connector in a worker,
then polls it with a self-rescheduling timer (``tui.live``) and publishes what it sees as reactive
attributes — ``connection``, ``routes``, ``snapshot``, ``capabilities`` — that screens watch. Each
worker's result comes back as a typed Message; failures go through ``worker_failed`` (the connection
is marked lost and retried with a growing delay). ``ConsoleApp`` (``tui.app``) adds views, commands
and themes on top.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer

from connectors.capabilities import Capabilities
from connectors.errors import GatewayError

from .config import ConsoleConfig
from .live import (
    Attached,
    Backoff,
    ConnectionState,
    MetricsFound,
    PollResult,
    attach,
    drift_summary,
    no_figures,
    open_metrics,
    poll_once,
)
from .outcomes import WorkerOutcomes, report_error, superseded

if TYPE_CHECKING:
    # Types only: importing the metrics package loads its HTTP clients, too slow for start-up.
    from connectors.base import Connector, GatewayInfo
    from connectors.metrics.types import Snapshot
    from connectors.model import Route

FREEZE_AT = 1000  # routes from which the loaded model is frozen out of the cyclic GC
ROUTES_EVERY = 5  # polls between route list refreshes (metrics refresh on every poll)


class Opened(Message, bubble=False):
    """The connector the opener returned (the console's to close)."""

    def __init__(self, connector: Connector) -> None:
        super().__init__()
        self.connector = connector


class GatewayAttached(Message, bubble=False):
    """Who the gateway is and what may be edited, learnt once on connecting."""

    def __init__(self, attached: Attached) -> None:
        super().__init__()
        self.attached = attached


class Polled(Message, bubble=False):
    """What one poll saw."""

    def __init__(self, result: PollResult) -> None:
        super().__init__()
        self.result = result


class MetricsOpened(Message, bubble=False):
    """The live metrics source, found after the routes are on screen."""

    def __init__(self, found: MetricsFound) -> None:
        super().__init__()
        self.found = found


class GatewayLink(WorkerOutcomes, App[None]):
    """An App connected to (at most) one gateway; see the module docstring."""

    connection: var[ConnectionState] = var(ConnectionState())
    routes: var[tuple[Route, ...]] = var((), always_update=True)
    snapshot: var[Snapshot | None] = var(None, always_update=True)
    capabilities: var[Capabilities] = var(Capabilities())

    settings: ConsoleConfig

    def __init__(
        self, opener: Callable[[], Connector] | None, *, readonly: bool, prometheus: str | None
    ) -> None:
        super().__init__()
        self.connector: Connector | None = None
        self._owned = False
        self._demo: Any = None  # a DemoRunner started from the Connect screen
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

    # -- opening and attaching ------------------------------------------------------------------

    def _start_open(self) -> None:
        """Open the connector in a worker: its imports, config and first contact come after the first
        frame, and a gateway that is not there yet is shown and retried like a lost one."""
        self._poll_timer = None
        self.connection = ConnectionState("connecting", readonly=self.readonly)
        self._open()

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll", name="open")
    def _open(self) -> Opened | None:
        assert self._opener is not None
        connector = self._opener()
        with self._open_lock:
            if not self._quitting and not superseded():
                return Opened(connector)
        connector.close()  # the console quit (or attached another) while it was opening
        return None

    def on_opened(self, message: Opened) -> None:
        self.attach(message.connector, owned=True)

    def attach(self, connector: Connector, *, owned: bool = False) -> None:
        """Operate ``connector`` from now on. ``owned``: the console opened it, so closes it when done
        (a connector handed in by the caller stays the caller's)."""
        previous, old_metrics = self.connector, self.metrics_source
        old_connector = (
            previous if previous is not None and previous is not connector and self._owned else None
        )
        if old_connector is not None or old_metrics is not None:
            self._close_quietly(old_connector, old_metrics)
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
        self.connector_changed()
        self._start_attach()

    def connector_changed(self) -> None:
        """A new connector is attached: views showing the old one are dropped (see ConsoleApp)."""

    @work(thread=True, exit_on_error=False, group="close", name="close")
    def _close_quietly(self, connector: Connector | None, metrics: Any) -> None:
        """Close what the console no longer uses, off the UI thread."""
        if connector is not None:
            connector.close()
        if metrics is not None and callable(getattr(metrics, "close", None)):
            metrics.close()

    def _start_attach(self) -> None:
        self._poll_timer = None
        if self.connector is not None:
            self._attach_to(self.connector)

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll", name="attach")
    def _attach_to(self, connector: Connector) -> GatewayAttached:
        return GatewayAttached(attach(connector))

    def on_gateway_attached(self, message: GatewayAttached) -> None:
        self.info = message.attached.info
        self.capabilities = message.attached.capabilities
        self._want_routes = True
        self._start_poll()

    # -- polling --------------------------------------------------------------------------------

    def _start_poll(self) -> None:
        self._poll_timer = None
        if self.connector is None:
            return
        want_routes = self._want_routes or self._polls % ROUTES_EVERY == 0
        self._want_routes = False
        self._polls += 1
        self._poll(self.connector, self.metrics_source, want_routes)

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll", name="poll")
    def _poll(self, connector: Connector, metrics: Any, want_routes: bool) -> Polled:
        return Polled(poll_once(connector, metrics, want_routes=want_routes))

    def on_polled(self, message: Polled) -> None:
        self._poll_finished(message.result)
        if self.metrics_source is None and not self._metrics_asked and self.connector is not None:
            # Once the routes are on screen: the metrics package is slow to import.
            self._metrics_asked = True
            self._open_metrics(self.connector, self.prometheus)

    @work(thread=True, exclusive=True, exit_on_error=False, group="metrics", name="metrics")
    def _open_metrics(self, connector: Connector, prometheus: str | None) -> MetricsOpened:
        return MetricsOpened(open_metrics(connector, prometheus))

    def on_metrics_opened(self, message: MetricsOpened) -> None:
        self.metrics_source = message.found.source
        if message.found.note:
            self.notify(message.found.note, title="Metrics", severity="warning")

    def _stop_polling(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
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

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name not in ("open", "attach", "poll"):
            return False
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

    def _connection_lost(self, error: BaseException, retry: Callable[[], None]) -> None:
        delay = self._backoff.next_delay()
        info = self.info
        self.connection = ConnectionState(
            "lost",
            gateway=info.title if info else self.connection.gateway,
            reason=str(error).splitlines()[0] if str(error) else type(error).__name__,
            retry_in=delay,
            readonly=self.connection.readonly,
        )
        # Figures from before the gateway stopped answering are not figures of now.
        self.snapshot = no_figures(self.snapshot, self.connection.reason)
        self._schedule(delay, retry)

    # -- closing --------------------------------------------------------------------------------

    def on_unmount(self) -> None:
        with self._open_lock:
            self._quitting = True
        self._stop_polling()
        metrics, connector, demo = self.metrics_source, self.connector, self._demo
        self.connector = self.metrics_source = self._demo = None
        owned = self._owned

        def close() -> None:
            if metrics is not None and callable(getattr(metrics, "close", None)):
                metrics.close()
            if connector is not None and owned:
                connector.close()
            if demo is not None:
                demo.stop()

        # A thread with a time limit, so a hung gateway cannot hang the exit.
        closer = threading.Thread(target=close, name="console-close", daemon=True)
        closer.start()
        closer.join(timeout=10)
