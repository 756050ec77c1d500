"""The live link to a gateway: one blocking poll (run in a worker thread) and the connection state.

The app runs ``poll_once`` in a thread worker, and schedules the next poll only when the previous
one has finished (a self-rescheduling timer), so polls never pile up behind a slow gateway. A failed
poll marks the connection lost and the next attempt waits longer each time (``Backoff``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from connectors.errors import ConnectionFailed, GatewayError

if TYPE_CHECKING:
    from connectors.base import Connector, GatewayInfo
    from connectors.capabilities import Capabilities

    # Types only: importing the metrics package loads its HTTP clients, too slow for start-up.
    from connectors.metrics.types import Snapshot
    from connectors.model import Route

Status = Literal["disconnected", "connecting", "connected", "lost"]


@dataclass(frozen=True)
class ConnectionState:
    """What the status line says about the gateway link."""

    status: Status = "disconnected"
    gateway: str = ""  # GatewayInfo.title
    endpoint: str = ""
    reason: str = ""  # why the connection is lost
    retry_in: float = 0.0  # seconds until the next attempt, while lost
    readonly: bool = False
    drift: str = ""  # what Envoy serves differs from what is shown (Connector.drift), in short

    @property
    def summary(self) -> str:
        if self.status == "connected":
            return "connected"
        if self.status == "connecting":
            return "connecting…"
        if self.status == "lost":
            return f"connection lost: {self.reason} — retrying in {self.retry_in:.0f}s"
        return "not connected"


@dataclass(frozen=True)
class PollResult:
    """What one poll saw. ``routes`` is None when routes were not asked for this time."""

    ok: bool
    routes: tuple[Route, ...] | None = None
    snapshot: Snapshot | None = None
    error: GatewayError | None = None
    seconds: float = 0.0
    drift: tuple[str, ...] | None = None  # asked with the routes: Connector.drift()


@dataclass(frozen=True)
class Attached:
    """What is learnt once on connecting: who the gateway is and what may be edited."""

    info: GatewayInfo
    capabilities: Capabilities


@dataclass(frozen=True)
class MetricsFound:
    """The live metrics source (None: the gateway has none) and a note for the operator."""

    source: Any
    note: str = ""


def attach(connector: Connector) -> Attached:
    """Blocking (worker thread): the gateway's identity and capabilities."""
    return Attached(connector.info(), connector.capabilities())


def open_metrics(connector: Connector, prometheus: str | None = None) -> MetricsFound:
    """Blocking (worker thread): the metrics source — Prometheus when given, else the one the
    connector's factory wired, else the default for what the connector offers (``metrics_for``).
    Run after the routes are on screen: the metrics package is slow to import."""
    from connectors.metrics import metrics_for, prometheus_source

    note = ""
    if prometheus:
        try:
            source = prometheus_source(prometheus, connector)
        except GatewayError as exc:
            # A bad --prometheus must not leave the console without figures: fall back, and say why.
            source, note = (
                None,
                f"Prometheus {prometheus} unusable ({exc}); showing the gateway's own figures",
            )
        if source is not None:
            return MetricsFound(source)
    source = connector.metrics()
    if source is None:
        source = metrics_for(connector)
    return MetricsFound(source, note)


def poll_once(connector: Connector, metrics: Any, *, want_routes: bool) -> PollResult:
    """Blocking: check the gateway is up, read its routes (when asked) and a metrics snapshot."""
    from connectors.change.timebox import revert_on_sight

    started = time.monotonic()
    try:
        reason = connector.health()
        if reason is not None:
            raise ConnectionFailed(reason)
        routes = tuple(connector.list_routes()) if want_routes else None
        revert_on_sight(connector)  # Kubernetes time boxes: any console that sees a due one reverts it
        drift = tuple(connector.drift()) if want_routes else None
    except GatewayError as exc:
        return PollResult(False, error=exc, seconds=time.monotonic() - started)
    snapshot: Snapshot | None = None
    if metrics is not None:
        try:
            snapshot = metrics.snapshot()
        except GatewayError:
            snapshot = None  # metrics trouble must not mark the gateway as lost
    return PollResult(True, routes=routes, snapshot=snapshot, seconds=time.monotonic() - started, drift=drift)


def no_figures(previous: Snapshot | None, reason: str) -> Snapshot | None:
    """The snapshot to show once the gateway stops answering: no figures (every live cell reads
    "—"), its status ``no data since HH:MM:SS: reason`` from the last figures' time. None when there
    were none (nothing to blank)."""
    if previous is None or not previous.ok:
        return previous  # nothing shown yet, or already none (its status says since when)
    from connectors.metrics.types import Snapshot

    at = time.strftime("%H:%M:%S", time.localtime(previous.time))
    return Snapshot(
        time=previous.time, routes={}, source=previous.source, status=f"no data since {at}: {reason}"
    )


def gateway_now(state: ConnectionState, listeners: str) -> str:
    """What the quit question says about the gateway it would stop: `` (Envoy listening on URL)``
    while it answers, `` (Envoy not answering: why)`` once the connection is lost."""
    if state.status == "lost":
        return f" (Envoy not answering: {state.reason})"
    if state.status == "connected" and listeners:
        return f" (Envoy listening on {listeners})"
    return ""


def drift_summary(lines: tuple[str, ...]) -> str:
    """The header's few words for ``Connector.drift()`` lines."""
    if not lines:
        return ""
    return lines[0] + (f" (+{len(lines) - 1} more)" if len(lines) > 1 else "")


@dataclass
class Backoff:
    """Retry delays after failures: 1, 2, 4, 8, 16, then every 30 seconds."""

    first: float = 1.0
    limit: float = 30.0
    failures: int = field(default=0)

    def next_delay(self) -> float:
        delay = float(min(self.limit, self.first * 2.0**self.failures))
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
