"""Backend health of a Kubernetes gateway, from its gateway pods' Envoys through the API server's
pod proxy (``pods/<pod>:<admin port>/proxy/clusters?format=json`` and ``.../proxy/stats``), as the
proxy checks ask for ``config_dump``: the same pods (the route's Gateways' for Istio, the proxies
Envoy Gateway runs for the route's parents), the same ``get pods/proxy`` permission.

Each flavour says which Envoy cluster is which route backend (``cluster_targets``): Istio's
``outbound|<port>|<subset>|<host>`` clusters by the VirtualService destinations, Envoy Gateway's
``httproute/<ns>/<name>/rule/<i>`` (one cluster per rule: its backends together). With several
gateway pods a backend's counters are summed and its endpoints listed per pod. What counts as checked,
failing, a request and a failure is ``connectors.health``'s, as natively.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from ..errors import ConnectionFailed, GatewayError, NotFound, PermissionDenied
from ..health import STATS_FILTER, BackendHealth, by_cluster, from_admin
from .gateway_logs import PodSet, find_pods
from .proxies import Pod, ProxiedConnector

ClusterTargets = Callable[[str], list[tuple[str, str]]]
"""Envoy cluster name -> the (route, backend)s it serves ([] for clusters of no known route)."""


class HealthConnector(ProxiedConnector, Protocol):
    def list_routes(self) -> Any: ...

    def cluster_targets(self) -> ClusterTargets:
        """How this flavour's Envoy clusters map to route backends."""
        ...


def admin_url(pod: Pod, what: str) -> str:
    """The API server's pod-proxy path to ``what`` on the pod's Envoy admin endpoint."""
    return f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}:{pod.port}/proxy/{what}"


def _ask(conn: ProxiedConnector, pod: Pod) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """One pod's ``/clusters`` and cluster stats."""
    clusters = conn.client.raw("GET", admin_url(pod, "clusters?format=json"), verb="get")
    query = urllib.parse.urlencode({"format": "json", "filter": STATS_FILTER})
    stats = conn.client.raw("GET", admin_url(pod, f"stats?{query}"), verb="get")
    named = {str(s["name"]): s.get("value") for s in stats.get("stats", []) if "name" in s}
    return list(clusters.get("cluster_statuses", [])), by_cluster(named)


def gateway_pods(
    conn: ProxiedConnector, names: Sequence[str], port: int
) -> tuple[dict[str, list[Pod]], list[str]]:
    """The gateway pods of each route, and why some routes have none to ask."""
    store = conn.current_store()
    bindings = conn.bindings_for(names)
    found: dict[str, list[Pod]] = {}
    notes: list[str] = []
    seen: dict[str, list[Pod]] = {}
    for name in names:
        binding = bindings.get(name)
        obj = store.get(binding.source) if binding is not None else None
        if binding is None or obj is None:
            continue
        sets = conn.proxy_pod_sets(binding, obj)
        if isinstance(sets, str):
            notes.append(f"{name}: {sets}")
            continue
        key = repr(sets)
        if key not in seen:
            listed = find_pods(conn.client, sets)
            seen[key] = [
                Pod(str(p["metadata"]["namespace"]), str(p["metadata"]["name"]), port) for _, p in listed
            ]
        if not seen[key]:
            notes.append(f"{name}: no running gateway pods ({_where(sets)})")
        found[name] = seen[key]
    return found, notes


def _where(sets: list[list[PodSet]]) -> str:
    return "; ".join(s.describe() for group in sets for s in group)


def _merge(rows: list[tuple[str, BackendHealth]]) -> BackendHealth:
    """One backend seen by several pods: counters summed, endpoints per pod."""
    first = rows[0][1]
    if len(rows) == 1:
        return first

    def total(field: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, r in rows:
            for k, v in getattr(r, field).items():
                out[k] = out.get(k, 0) + v
        return out

    return replace(
        first,
        endpoints=tuple(
            replace(e, address=f"{e.address} (pod {pod})") for pod, r in rows for e in r.endpoints
        ),
        ejections_active=sum(r.ejections_active for _, r in rows),
        ejections_total=sum(r.ejections_total for _, r in rows),
        ejections_5xx=sum(r.ejections_5xx for _, r in rows),
        overflows=total("overflows"),
        active=total("active"),
        open_breakers=tuple(sorted({b for _, r in rows for b in r.open_breakers})),
        checks=tuple(dict.fromkeys(c for _, r in rows for c in r.checks)),
        counted=any(r.counted for _, r in rows),
        requests=sum(r.requests for _, r in rows),
        failures=sum(r.failures for _, r in rows),
    )


def read_health(conn: HealthConnector, route: str | None = None) -> list[BackendHealth]:
    """Every backend of ``route`` (or of every route) as the gateway pods' Envoys see it."""
    admin = conn.proxy_admin()
    if admin is None:
        raise PermissionDenied(
            f"the {conn.kind} connector does not know where its gateway's proxies keep their admin "
            "endpoint, so backend health cannot be read (Istio and Envoy Gateway can)"
        )
    names = [route] if route is not None else [r.name for r in conn.list_routes()]
    pods_of, notes = gateway_pods(conn, names, admin[0])
    if route is not None and not pods_of.get(route):
        raise NotFound(f"backend health of {notes[0] if notes else route}")
    targets = conn.cluster_targets()
    seen: dict[tuple[str, str], list[tuple[str, BackendHealth]]] = {}
    failed: list[str] = []
    for pod in dict.fromkeys(p for pods in pods_of.values() for p in pods):
        try:
            clusters, stats = _ask(conn, pod)
        except PermissionDenied as exc:
            raise PermissionDenied(
                f"cannot ask the gateway pods ({exc}; reading needs get on pods/proxy)"
            ) from exc
        except GatewayError as exc:
            failed.append(f"{pod.label}: {exc}")
            continue
        for c in clusters:
            name = str(c.get("name", ""))
            for r, backend in targets(name):
                if r in pods_of and pod in pods_of[r]:
                    seen.setdefault((r, backend), []).append(
                        (pod.name, from_admin(r, backend, c, stats.get(name, {})))
                    )
    if failed and not seen:
        raise ConnectionFailed("no gateway pod answered: " + "; ".join(failed))
    return [_merge(rows) for rows in seen.values()]
