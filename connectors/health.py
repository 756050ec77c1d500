"""Backend health: per route backend and endpoint, whether it is healthy or ejected, its outlier
ejections (now and since the proxy started), circuit-breaker overflows, and active connections and
requests against the thresholds. Ranked by trouble, worst first.

``backend_health(connector)`` blocks (admin API reads); it is what the console and the CLI call:
the connector's own ``Connector.backend_health`` (native: Envoy's admin ``/clusters`` and
``/stats``), ranked. Connectors without one raise PermissionDenied saying why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

HealthState = Literal["healthy", "ejected", "unhealthy", "degraded"]
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


@dataclass(frozen=True)
class EndpointHealth:
    """One host of a backend as the proxy sees it."""

    address: str
    state: HealthState
    flags: tuple[str, ...] = ()  # Envoy's reasons: failed_outlier_check, failed_active_health_check...
    connections: int = 0
    requests: int = 0
    errors: int = 0
    total: int = 0


@dataclass(frozen=True)
class BackendHealth:
    """One route's backend (one Envoy cluster): ejections, overflows, active against thresholds."""

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

    @property
    def state(self) -> HealthState:
        states = [e.state for e in self.endpoints]
        if states and all(s != "healthy" for s in states):
            return "ejected" if "ejected" in states else "unhealthy"
        if any(s != "healthy" for s in states) or self.near_limits() or self.open_breakers:
            return "degraded"
        return "healthy"

    def near_limits(self) -> list[str]:
        """The thresholds active use is close to, as ``requests 950/1024``."""
        out = []
        for limit, gauge in LIMITS:
            cap, now = self.thresholds.get(limit), self.active.get(gauge)
            if cap and now is not None and now >= NEAR * cap:
                out.append(f"{gauge} {now}/{cap}")
        return out

    @property
    def trouble(self) -> tuple[int, int, int, int]:
        """Sort key, worst first: unhealthy endpoints, ejections now, overflows, ejections since."""
        bad = sum(e.state != "healthy" for e in self.endpoints)
        overflows = sum(self.overflows.values()) + len(self.open_breakers)
        return (-bad, -self.ejections_active, -overflows, -self.ejections_total)

    def cells(self, *, pending: str = "pending") -> tuple[str, ...]:
        """The row the CLI's table and the console's ``:health`` show: route, backend, state
        (upper case when in trouble), endpoints ok/all, ejections now/since start, the
        ``OVERFLOWS`` counts, and active against the thresholds (``pending`` labels the pending
        requests: the console's column is narrower)."""
        healthy = sum(e.state == "healthy" for e in self.endpoints)
        active = []
        for limit, gauge, label in (
            ("max_connections", "connections", "cx"),
            ("max_requests", "requests", "rq"),
            ("max_pending_requests", "pending_requests", pending),
        ):
            cap = self.thresholds.get(limit)
            active.append(f"{label} {self.active.get(gauge, 0)}/{cap if cap is not None else '-'}")
        return (
            self.route,
            self.backend,
            self.state.upper() if self.state != "healthy" else self.state,
            f"{healthy}/{len(self.endpoints)}",
            f"{self.ejections_active}/{self.ejections_total}",
            "/".join(str(self.overflows.get(k, 0)) for k in OVERFLOWS),
            " ".join(active),
        )

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["state"] = self.state
        data["near_limits"] = self.near_limits()
        return data


def rank(rows: list[BackendHealth]) -> list[BackendHealth]:
    return sorted(rows, key=lambda b: (b.trouble, b.route, b.backend))


# -- Envoy's admin answers (native, and Kubernetes gateway pods through pods/proxy) ---------------

_STAT = (
    r"(upstream_cx_overflow|upstream_rq_(?:pending|active|retry)_overflow"
    r"|upstream_cx_active|upstream_rq_active|upstream_rq_pending_active"
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


def endpoint(host: Mapping[str, Any]) -> EndpointHealth:
    status = host.get("health_status", {})
    flags = tuple(k for k, v in status.items() if v is True)
    eds = status.get("eds_health_status", "HEALTHY")
    state: HealthState = "healthy"
    if "failed_outlier_check" in flags:
        state = "ejected"
    elif flags or eds not in ("HEALTHY", "UNKNOWN"):
        state = "unhealthy"
    stats = {s.get("name"): _num(s.get("value")) for s in host.get("stats", [])}
    return EndpointHealth(
        address=_address(host),
        state=state,
        flags=flags + (() if eds in ("HEALTHY", "UNKNOWN") else (f"eds_{eds.lower()}",)),
        connections=stats.get("cx_active", 0),
        requests=stats.get("rq_active", 0),
        errors=stats.get("rq_error", 0),
        total=stats.get("rq_total", 0),
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
    (``stats`` by name without the ``cluster.<name>.`` prefix, see ``by_cluster``)."""
    s = stats
    return BackendHealth(
        route=route,
        backend=backend,
        cluster=str(cluster.get("name", "")),
        endpoints=tuple(endpoint(h) for h in cluster.get("host_statuses", [])),
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
    )


class HasHealth(Protocol):
    """What ``backend_health`` needs of a connector (``Connector`` has both)."""

    def get_route(self, name: str) -> Any: ...

    def backend_health(self, route: str | None = None) -> list[BackendHealth]: ...


def backend_health(connector: HasHealth, route: str | None = None) -> list[BackendHealth]:
    """Every backend of every route (or of ``route``), worst first."""
    if route is not None:
        connector.get_route(route)  # NotFound for a route that does not exist
    return rank(connector.backend_health(route))
