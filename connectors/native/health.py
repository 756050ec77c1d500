"""Backend health of a native gateway from Envoy's admin endpoint: ``/clusters?format=json`` for
each host's health flags, counters and the circuit-breaker thresholds, one ``/stats`` read for the
cluster-wide ejection, overflow and active gauges. One cluster is one (route, backend)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..health import LIMITS, OVERFLOWS, BackendHealth, EndpointHealth, HealthState
from .names import split_cluster_name

if TYPE_CHECKING:
    from .lifecycle import EnvoyLifecycle

_STATS = (
    r"^cluster\.[^.]+\.(upstream_cx_overflow|upstream_rq_(pending|active|retry)_overflow"
    r"|upstream_cx_active|upstream_rq_active|upstream_rq_pending_active"
    r"|outlier_detection\.ejections_(active|enforced_total|enforced_consecutive_5xx)"
    r"|circuit_breakers\.default\.[a-z_]+_open)$"
)
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
        m = re.match(r"^cluster\.([^.]+)\.(.+)$", name)
        if m:
            out.setdefault(m.group(1), {})[m.group(2)] = _num(value)
    return out


def read_health(connector: EnvoyLifecycle, route: str | None = None) -> list[BackendHealth]:
    admin = connector.admin
    clusters = admin.clusters().get("cluster_statuses", [])
    stats = by_cluster(admin.stats(_STATS))
    rows = []
    for c in clusters:
        name = str(c.get("name", ""))
        rb = split_cluster_name(name)
        if rb is None or (route is not None and rb[0] != route):
            continue
        s = stats.get(name, {})
        rows.append(
            BackendHealth(
                route=rb[0],
                backend=rb[1],
                cluster=name,
                endpoints=tuple(endpoint(h) for h in c.get("host_statuses", [])),
                ejections_active=s.get("outlier_detection.ejections_active", 0),
                ejections_total=s.get("outlier_detection.ejections_enforced_total", 0),
                ejections_5xx=s.get("outlier_detection.ejections_enforced_consecutive_5xx", 0),
                overflows={k: s.get(k, 0) for k in OVERFLOWS},
                active={v: s.get(k, 0) for k, v in _ACTIVE.items()},
                thresholds=thresholds(c),
                open_breakers=tuple(
                    k.removeprefix("circuit_breakers.default.").removesuffix("_open")
                    for k, v in sorted(s.items())
                    if k.startswith("circuit_breakers.default.") and v
                ),
            )
        )
    return rows
