"""Backend health: per route backend and endpoint, whether anything checks it and what it says
(healthy, ejected by outlier detection, failing an active health check), whether its requests fail,
its outlier ejections (now and since the proxy started), circuit-breaker overflows, and active
connections and requests against the thresholds. Ranked by trouble, worst first.

Envoy calls an endpoint ``HEALTHY`` when nothing checks it, so "healthy" is said only of a backend
that an active health check or outlier detection watches; otherwise it is *not checked* (what its
requests did is shown beside it). The figures, from Envoy's counters (the same on every connector):

- a backend's ``requests`` are its cluster's ``upstream_rq_completed`` (every request that got an
  outcome, including those Envoy failed itself because it could not connect) and its ``failures``
  its ``upstream_rq_5xx`` (5xx answers, and the 503/504 Envoy gives for a refused connection, a
  reset or a timeout), since the proxy started (``window_s`` None) or over a window
  (``HealthWindow``); ``failing`` when at least ``FAILING_PCT`` % of them failed;
- an endpoint's ``errors`` are its host counter ``rq_error`` and its ``total`` ``rq_success +
  rq_error``: every request that got an outcome (a request whose connection failed is never in
  Envoy's ``rq_total``), since the proxy started; ``connect_failures`` its ``cx_connect_fail``.

``backend_health(connector)`` blocks (admin API reads); it is what the console and the CLI call:
the connector's own ``Connector.backend_health`` (native: Envoy's admin ``/clusters`` and
``/stats``), ranked. Connectors without one raise PermissionDenied saying why.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

HealthState = Literal["healthy", "ejected", "unhealthy", "failing", "degraded", "unchecked", "unknown"]
STATE_TEXT: dict[str, str] = {
    "unchecked": "not checked (no health check / outlier detection)",
    "unknown": "unknown (the proxy keeps no request counters for it)",
}
"""What a state means where its one word would mislead."""
IN_TROUBLE = ("ejected", "unhealthy", "failing", "degraded")
_SEVERITY = {s: i for i, s in enumerate((*IN_TROUBLE, "unknown", "unchecked", "healthy"))}
FAILING_PCT = 1.0
"""A backend (or endpoint) with at least this share of its requests failed is failing."""
# upstream_rq_active_overflow: Envoy 1.40 counts requests refused by max_requests apart from the
# pending-queue overflows (older versions counted them in upstream_rq_pending_overflow).
OVERFLOWS = (
    "upstream_cx_overflow",
    "upstream_rq_pending_overflow",
    "upstream_rq_active_overflow",
    "upstream_rq_retry_overflow",
)
# Threshold name -> the active gauge it limits.
LIMITS = (
    ("max_connections", "connections"),
    ("max_pending_requests", "pending_requests"),
    ("max_requests", "requests"),
    ("max_retries", "retries"),
)
NEAR = 0.8
"""Active at or above this share of a threshold counts as trouble."""
# A stat Envoy creates only for a cluster with that check configured.
CHECKS = (
    ("outlier_detection.ejections_active", "outlier detection"),
    ("health_check.attempt", "active health check"),
)


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


@dataclass(frozen=True)
class EndpointHealth:
    """One host of a backend as the proxy sees it (counts since the proxy started)."""

    address: str
    state: HealthState
    flags: tuple[str, ...] = ()  # Envoy's reasons: failed_outlier_check, failed_active_health_check...
    connections: int = 0
    requests: int = 0  # active now
    errors: int = 0  # rq_error: failed requests (5xx, timeouts, resets, no connection)
    total: int = 0  # rq_success + rq_error: every request with an outcome
    connect_failures: int = 0

    def describe(self) -> str:
        """``127.0.0.1:1  failing  active 0 cx / 0 rq; 39 of 39 requests failed since start, 39
        connect failures``: one endpoint's line in the console and the CLI."""
        # "not checked" alone: the backend's own note says what that means.
        state = {"unchecked": "not checked"}.get(self.state, self.state)
        state += f" ({', '.join(self.flags)})" if self.flags else ""
        line = f"{self.address}  {state}  active {self.connections} cx / {self.requests} rq; "
        line += f"{self.errors:,} of {self.total:,} requests failed since start"
        return line + (f", {self.connect_failures:,} connect failures" if self.connect_failures else "")


@dataclass(frozen=True)
class BackendHealth:
    """One route's backend (one Envoy cluster): what checks it, how its requests went, ejections,
    overflows, active against thresholds."""

    route: str
    backend: str
    cluster: str
    endpoints: tuple[EndpointHealth, ...]
    ejections_active: int = 0
    ejections_total: int = 0  # enforced ejections since the proxy started ("recently")
    ejections_5xx: int = 0  # of which for consecutive 5xx
    overflows: dict[str, int] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=dict)
    thresholds: dict[str, int] = field(default_factory=dict)
    open_breakers: tuple[str, ...] = ()  # circuit breakers tripped right now: cx, rq, rq_pending...
    checks: tuple[str, ...] = ()  # what watches the endpoints: outlier detection, active health check
    counted: bool = True  # the proxy keeps this backend's request counters (a stats matcher may not)
    requests: int = 0  # upstream_rq_completed over the window
    failures: int = 0  # upstream_rq_5xx over the window
    window_s: float | None = None  # None: since the proxy started

    @property
    def failing(self) -> bool:
        return self.failures > 0 and _pct(self.failures, max(self.requests, self.failures)) >= FAILING_PCT

    @property
    def state(self) -> HealthState:
        bad = [e for e in self.endpoints if e.state in ("ejected", "unhealthy")]
        if self.endpoints and len(bad) == len(self.endpoints):
            return "ejected" if any(e.state == "ejected" for e in bad) else "unhealthy"
        if self.failing:
            return "failing"
        if bad or self.near_limits() or self.open_breakers:
            return "degraded"
        if not self.checks:
            return "unchecked" if self.counted else "unknown"
        return "healthy"

    @property
    def in_trouble(self) -> bool:
        return self.state in IN_TROUBLE

    @property
    def connect_failures(self) -> int:
        return sum(e.connect_failures for e in self.endpoints)

    def window(self) -> str:
        """Over what the requests and failures were counted: ``since start`` or ``last 2m``."""
        return "since start" if self.window_s is None else HealthWindow.label(self.window_s)

    def near_limits(self) -> list[str]:
        """The thresholds active use is close to, as ``requests 950/1024``."""
        out = []
        for limit, gauge in LIMITS:
            cap, now = self.thresholds.get(limit), self.active.get(gauge)
            if cap and now is not None and now >= NEAR * cap:
                out.append(f"{gauge} {now}/{cap}")
        return out

    @property
    def trouble(self) -> tuple[int, int, int, float, int, int]:
        """Sort key, worst first: how bad the state is, unhealthy endpoints, ejections now, share of
        requests failed, overflows, ejections since."""
        bad = sum(e.state in ("ejected", "unhealthy") for e in self.endpoints)
        overflows = sum(self.overflows.values()) + len(self.open_breakers)
        failed = _pct(self.failures, max(self.requests, self.failures))
        return (
            _SEVERITY[self.state],
            -bad,
            -self.ejections_active,
            -failed,
            -overflows,
            -self.ejections_total,
        )

    def failed_cell(self) -> str:
        """``6/20 30%``: failed of all requests over the window (``-`` when not counted)."""
        if not self.counted:
            return "-"
        share = f" {_pct(self.failures, self.requests):.0f}%" if self.requests else ""
        return f"{self.failures:,}/{self.requests:,}{share}"

    def cells(self, *, pending: str = "pending", mark_start: bool = False) -> tuple[str, ...]:
        """The row the CLI's table and the console's ``:health`` show: route, backend, state
        (upper case when in trouble, ``not checked`` when nothing checks it), endpoints ok/all (neither
        ejected, unhealthy nor failing),
        failed/requests, ejections now/since start, the ``OVERFLOWS`` counts, and active against
        the thresholds (``pending`` labels the pending requests: the console's column is narrower;
        ``mark_start``: a count since the proxy started says so, beside windowed ones)."""
        # OK: in rotation and its requests not failing (a dead endpoint nothing checks is not OK).
        healthy = sum(e.state in ("healthy", "unchecked") for e in self.endpoints)
        active = []
        for limit, gauge, label in (
            ("max_connections", "connections", "cx"),
            ("max_requests", "requests", "rq"),
            ("max_pending_requests", "pending_requests", pending),
        ):
            cap = self.thresholds.get(limit)
            active.append(f"{label} {self.active.get(gauge, 0)}/{cap if cap is not None else '-'}")
        state = {"unchecked": "not checked"}.get(self.state, self.state)
        return (
            self.route,
            self.backend,
            state.upper() if self.in_trouble else state,
            f"{healthy}/{len(self.endpoints)}",
            self.failed_cell() + (" since start" if mark_start and self.window_s is None else ""),
            f"{self.ejections_active}/{self.ejections_total}",
            "/".join(str(self.overflows.get(k, 0)) for k in OVERFLOWS),
            " ".join(active),
        )

    def notes(self) -> list[str]:
        """What is worth saying about the backend beyond its row: what its state means, its
        failures, limits near and breakers open."""
        out = []
        if self.state in STATE_TEXT:
            out.append(STATE_TEXT[self.state])
        elif not self.checks and self.counted:  # failing or degraded, and still nothing checks it
            out.append(STATE_TEXT["unchecked"])
        if self.failing:
            lost = (
                f", {self.connect_failures:,} connect failures since start" if self.connect_failures else ""
            )
            pct = _pct(self.failures, self.requests)
            failed = f"{self.failures:,} of {self.requests:,} requests failed ({pct:.0f}%, {self.window()})"
            out.append(f"failing: {failed}{lost}")
        out += [f"near limit: {x}" for x in self.near_limits()]
        out += [f"circuit breaker open: {x}" for x in self.open_breakers]
        return out

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["state"] = self.state
        data["state_text"] = STATE_TEXT.get(self.state, self.state)
        data["in_trouble"] = self.in_trouble
        data["failing"] = self.failing
        data["failure_pct"] = round(_pct(self.failures, self.requests), 1)
        data["connect_failures"] = self.connect_failures
        data["window"] = self.window()
        data["near_limits"] = self.near_limits()
        return data


def rank(rows: list[BackendHealth]) -> list[BackendHealth]:
    return sorted(rows, key=lambda b: (b.trouble, b.route, b.backend))


class HealthWindow:
    """Earlier readings, so that a backend's requests and failures are counted over the last
    ``window_s`` seconds (from the oldest reading within it) rather than since the proxy started.
    A backend with no request in the window, or whose counters went down (the proxy restarted),
    keeps its counts since the start, and says so (``window_s`` None)."""

    @staticmethod
    def label(seconds: float) -> str:
        """``last 2m``: a window's length as the views say it."""
        from .model.durations import format_duration

        return f"last {format_duration(max(1, round(seconds)))}"

    def __init__(self, window_s: float = 300.0) -> None:
        self.window_s = window_s
        self._readings: deque[tuple[float, dict[tuple[str, str, str], tuple[int, int]]]] = deque()

    def apply(self, rows: list[BackendHealth], now: float) -> list[BackendHealth]:
        while self._readings and self._readings[0][0] < now - self.window_s:
            self._readings.popleft()
        then, base = self._readings[0] if self._readings else (now, {})
        out = []
        for b in rows:
            req, fail = base.get((b.route, b.backend, b.cluster), (b.requests + 1, 0))
            if b.window_s is None and req < b.requests and fail <= b.failures:
                b = replace(b, requests=b.requests - req, failures=b.failures - fail, window_s=now - then)
            out.append(b)
        self._readings.append(
            (now, {(b.route, b.backend, b.cluster): (b.requests, b.failures) for b in rows})
        )
        return rank(out)


# -- Envoy's admin answers (native, and Kubernetes gateway pods through pods/proxy) ---------------

_STAT = (
    r"(upstream_cx_overflow|upstream_rq_(?:pending|active|retry)_overflow"
    r"|upstream_cx_active|upstream_rq_active|upstream_rq_pending_active"
    r"|upstream_rq_completed|upstream_rq_5xx|health_check\.attempt"
    r"|outlier_detection\.ejections_(?:active|enforced_total|enforced_consecutive_5xx)"
    r"|circuit_breakers\.default\.[a-z_]+_open)"
)
# Cluster names may hold dots (Istio's ``outbound|80||api.default.svc.cluster.local``).
STATS_FILTER = rf"^cluster\..+\.{_STAT}$"
_SPLIT = re.compile(rf"^cluster\.(.+)\.{_STAT}$")
_ACTIVE = {
    "upstream_cx_active": "connections",
    "upstream_rq_active": "requests",
    "upstream_rq_pending_active": "pending_requests",
}


def _num(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _address(host: Mapping[str, Any]) -> str:
    sock = host.get("address", {}).get("socket_address", {})
    return f"{sock.get('address', '?')}:{sock.get('port_value', '?')}"


def endpoint(host: Mapping[str, Any], *, checked: bool = True) -> EndpointHealth:
    """One host of ``/clusters?format=json``; ``checked``: something (outlier detection, an active
    health check) watches it, so Envoy's HEALTHY means something."""
    status = host.get("health_status", {})
    flags = tuple(k for k, v in status.items() if v is True)
    eds = status.get("eds_health_status", "HEALTHY")
    stats = {s.get("name"): _num(s.get("value")) for s in host.get("stats", [])}
    errors = stats.get("rq_error", 0)
    total = stats.get("rq_success", 0) + errors
    state: HealthState = "healthy" if checked else "unchecked"
    if "failed_outlier_check" in flags:
        state = "ejected"
    elif flags or eds not in ("HEALTHY", "UNKNOWN"):
        state = "unhealthy"
    elif errors and _pct(errors, total) >= FAILING_PCT:
        state = "failing"
    return EndpointHealth(
        address=_address(host),
        state=state,
        flags=flags + (() if eds in ("HEALTHY", "UNKNOWN") else (f"eds_{eds.lower()}",)),
        connections=stats.get("cx_active", 0),
        requests=stats.get("rq_active", 0),
        errors=errors,
        total=total,
        connect_failures=stats.get("cx_connect_fail", 0),
    )


def thresholds(cluster: Mapping[str, Any]) -> dict[str, int]:
    """The default-priority circuit-breaker thresholds (Envoy lists its defaults when unset)."""
    for t in cluster.get("circuit_breakers", {}).get("thresholds", []):
        if t.get("priority", "DEFAULT") == "DEFAULT":
            return {k: _num(t[k]) for k, _ in LIMITS if k in t}
    return {}


def by_cluster(stats: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, value in stats.items():
        m = _SPLIT.match(name)
        if m:
            out.setdefault(m.group(1), {})[m.group(2)] = _num(value)
    return out


def from_admin(
    route: str, backend: str, cluster: Mapping[str, Any], stats: Mapping[str, int]
) -> BackendHealth:
    """One backend's health from its ``/clusters?format=json`` entry and its ``/stats`` counters
    (``stats`` by name without the ``cluster.<name>.`` prefix, see ``by_cluster``). A check counts
    when Envoy keeps its stat (it creates them only for a cluster with that check)."""
    s = stats
    checks = tuple(label for stat, label in CHECKS if stat in s)
    return BackendHealth(
        route=route,
        backend=backend,
        cluster=str(cluster.get("name", "")),
        endpoints=tuple(endpoint(h, checked=bool(checks)) for h in cluster.get("host_statuses", [])),
        ejections_active=s.get("outlier_detection.ejections_active", 0),
        ejections_total=s.get("outlier_detection.ejections_enforced_total", 0),
        ejections_5xx=s.get("outlier_detection.ejections_enforced_consecutive_5xx", 0),
        overflows={k: s.get(k, 0) for k in OVERFLOWS},
        active={v: s.get(k, 0) for k, v in _ACTIVE.items()},
        thresholds=thresholds(cluster),
        open_breakers=tuple(
            k.removeprefix("circuit_breakers.default.").removesuffix("_open")
            for k, v in sorted(s.items())
            if k.startswith("circuit_breakers.default.") and v
        ),
        checks=checks,
        counted="upstream_rq_completed" in s,
        requests=s.get("upstream_rq_completed", 0),
        failures=s.get("upstream_rq_5xx", 0),
    )


class HasHealth(Protocol):
    """What ``backend_health`` needs of a connector (``Connector`` has both)."""

    def get_route(self, name: str) -> Any: ...

    def backend_health(self, route: str | None = None) -> list[BackendHealth]: ...


def backend_health(connector: HasHealth, route: str | None = None) -> list[BackendHealth]:
    """Every backend of every route (or of ``route``), worst first; requests and failures since
    the proxy started (``HealthWindow`` narrows them to a window)."""
    if route is not None:
        connector.get_route(route)  # NotFound for a route that does not exist
    return rank(connector.backend_health(route))
