"""Backend health of a native gateway from Envoy's admin endpoint: ``/clusters?format=json`` for
each host's health flags, counters and the circuit-breaker thresholds, one ``/stats`` read for the
cluster-wide ejection, overflow and active gauges. One cluster is one (route, backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..health import STATS_FILTER, BackendHealth, by_cluster, from_admin
from .names import split_cluster_name

if TYPE_CHECKING:
    from .lifecycle import EnvoyLifecycle


def read_health(connector: EnvoyLifecycle, route: str | None = None) -> list[BackendHealth]:
    admin = connector.admin
    clusters = admin.clusters().get("cluster_statuses", [])
    stats = by_cluster(admin.stats(STATS_FILTER))
    rows = []
    for c in clusters:
        name = str(c.get("name", ""))
        rb = split_cluster_name(name)
        if rb is None or (route is not None and rb[0] != route):
            continue
        rows.append(from_admin(rb[0], rb[1], c, stats.get(name, {})))
    return rows
