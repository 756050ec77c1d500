"""What a gateway proxy holds for one route, read from its Envoy ``/config_dump``, and what it should
hold according to the route's object (Istio VirtualService ``http[i]``, Gateway API HTTPRoute
``rules[i]`` as Envoy Gateway translates it).

A route's traffic split is compared as shares (each backend's weight over the total, zero weights left
out), so ``90/10`` and ``9/1`` are the same split, as they are for Envoy. How the proxies name things:

* Istio: every route entry carries ``metadata.filter_metadata.istio.config`` =
  ``/apis/networking.istio.io/<v>/namespaces/<ns>/virtual-service/<name>``; an entry is named after
  ``http[].name`` (plus ``.<match name>``); clusters are ``outbound|<port>|<subset>|<service FQDN>``.
* Envoy Gateway: entries are ``httproute/<ns>/<name>/rule/<i>/match/<j>/<host>``; one backendRef
  routes to the cluster ``httproute/<ns>/<name>/rule/<i>``, several to weighted clusters
  ``.../rule/<i>/backend/<k>`` (``invalid-backend-cluster`` carries the weight of refs that resolve
  to nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .proxy_policies import Aspect
from .resources import JsonDict

Shares = dict[str, float]
_ISTIO_CONFIG = re.compile(r"/namespaces/(?P<ns>[^/]+)/virtual-service/(?P<name>[^/]+)$")
_TOLERANCE = 1e-6


def shares(weights: dict[str, int]) -> Shares:
    total = sum(w for w in weights.values() if w > 0)
    return {k: w / total for k, w in weights.items() if w > 0} if total else {}


def same(a: Shares, b: Shares) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < _TOLERANCE for k in a)


@dataclass(frozen=True)
class RouteView:
    """How to find one route in a config dump, what it should hold, and how to name its backends."""

    describe: str  # e.g. `VirtualService default/reviews http[0]`
    find: Callable[[JsonDict], list[JsonDict]]  # the route entries of this route in a dump
    served: Callable[[JsonDict], Shares]  # one entry's split
    want: Shares
    before: Shares | None  # the split before the change (None: unknown, e.g. a drift check)
    labels: dict[str, str]  # proxy-side backend key -> the name the operator knows
    aspects: tuple[Aspect, ...] = ()  # the policies compared besides the split (proxy_policies)

    def show(self, split: Shares) -> str:
        if not split:
            return "no backends"
        return ", ".join(f"{self.labels.get(k, k)} {round(v * 100)}%" for k, v in sorted(split.items()))


def route_entries(dump: JsonDict) -> Iterator[JsonDict]:
    """Every route entry of every (static or dynamic) route configuration in a ``/config_dump``."""
    for config in dump.get("configs") or []:
        if not str(config.get("@type", "")).endswith("RoutesConfigDump"):
            continue
        for item in [
            *(config.get("static_route_configs") or []),
            *(config.get("dynamic_route_configs") or []),
        ]:
            for vhost in (item.get("route_config") or {}).get("virtual_hosts") or []:
                yield from vhost.get("routes") or []


def action_weights(entry: JsonDict) -> dict[str, int]:
    action = entry.get("route") or {}
    if "cluster" in action:
        return {str(action["cluster"]): 1}
    clusters = (action.get("weighted_clusters") or {}).get("clusters") or []
    return {str(c.get("name")): int(c.get("weight") or 0) for c in clusters}


# -- Istio -------------------------------------------------------------------------------------------
def service_fqdn(host: str, namespace: str) -> str:
    if "." not in host and host != "*":
        return f"{host}.{namespace}.svc.cluster.local"
    return f"{host}.cluster.local" if host.endswith(".svc") else host


def _istio_key(cluster: str) -> str:
    """`outbound|9080|v1|reviews.default.svc.cluster.local` -> `v1|reviews.default.svc.cluster.local`."""
    parts = cluster.split("|")
    return f"{parts[2]}|{parts[3]}" if len(parts) == 4 else cluster


def _istio_split(http: JsonDict, namespace: str) -> tuple[dict[str, int], dict[str, str]]:
    destinations = [d for d in http.get("route") or [] if isinstance(d, dict)]
    weights: dict[str, int] = {}
    labels: dict[str, str] = {}
    for d in destinations:
        dest = d.get("destination") or {}
        key = f"{dest.get('subset') or ''}|{service_fqdn(str(dest.get('host', '')), namespace)}"
        default = 100 if len(destinations) == 1 else 0
        weights[key] = weights.get(key, 0) + int(d.get("weight", default) or 0)
        labels[key] = str(dest.get("subset") or dest.get("host") or key)
    return weights, labels


def _http_at(vs: JsonDict | None, index: int) -> JsonDict | None:
    http = ((vs or {}).get("spec") or {}).get("http") or []
    return http[index] if 0 <= index < len(http) and isinstance(http[index], dict) else None


def istio_view(vs: JsonDict, index: int, before: JsonDict | None) -> RouteView | None:
    """The view of ``http[index]`` of a VirtualService; None when it has no such entry."""
    http = _http_at(vs, index)
    if http is None:
        return None
    meta = vs.get("metadata") or {}
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    weights, labels = _istio_split(http, ns)
    old = _http_at(before, index)
    before_shares = shares(_istio_split(old, ns)[0]) if old is not None else None
    http_name = str(http.get("name") or "")

    def served(entry: JsonDict) -> Shares:
        return shares({_istio_key(k): w for k, w in action_weights(entry).items()})

    def find(dump: JsonDict) -> list[JsonDict]:
        mine = [e for e in route_entries(dump) if _istio_owner(e) == (ns, name)]
        named = [
            e
            for e in mine
            if http_name
            and (str(e.get("name", "")) == http_name or str(e.get("name", "")).startswith(f"{http_name}."))
        ]
        if named:
            return named
        # Unnamed entries (or a proxy that has not got the name a change gave the entry yet): the
        # ones that send to this entry's services (before or after the change).
        keys = [set(shares(weights))] + ([set(before_shares)] if before_shares else [])
        return [e for e in mine if set(served(e)) in keys]

    return RouteView(
        f"VirtualService {ns}/{name} http[{index}]", find, served, shares(weights), before_shares, labels
    )


def _istio_owner(entry: JsonDict) -> tuple[str, str] | None:
    config = ((entry.get("metadata") or {}).get("filter_metadata") or {}).get("istio") or {}
    match = _ISTIO_CONFIG.search(str(config.get("config", "")))
    return (match["ns"], match["name"]) if match else None


# -- Envoy Gateway -----------------------------------------------------------------------------------
def _rule_at(route: JsonDict | None, index: int) -> JsonDict | None:
    rules = ((route or {}).get("spec") or {}).get("rules") or []
    return rules[index] if 0 <= index < len(rules) and isinstance(rules[index], dict) else None


def _eg_split(rule: JsonDict, prefix: str) -> tuple[dict[str, int], dict[str, str]]:
    refs = [r for r in rule.get("backendRefs") or [] if isinstance(r, dict)]
    if len(refs) == 1:
        return {prefix: 1}, {prefix: str(refs[0].get("name", prefix))}
    weights = {f"{prefix}/backend/{k}": int(r.get("weight", 1)) for k, r in enumerate(refs)}
    labels = {f"{prefix}/backend/{k}": str(r.get("name", k)) for k, r in enumerate(refs)}
    return weights, labels


def envoy_gateway_view(route: JsonDict, index: int, before: JsonDict | None) -> RouteView | None:
    """The view of ``rules[index]`` of an HTTPRoute as Envoy Gateway programs it."""
    rule = _rule_at(route, index)
    if rule is None:
        return None
    meta = route.get("metadata") or {}
    prefix = f"httproute/{meta.get('namespace', '')}/{meta.get('name', '')}/rule/{index}"
    weights, labels = _eg_split(rule, prefix)
    old = _rule_at(before, index)
    before_shares = shares(_eg_split(old, prefix)[0]) if old is not None else None

    def find(dump: JsonDict) -> list[JsonDict]:
        return [e for e in route_entries(dump) if str(e.get("name", "")).startswith(f"{prefix}/match/")]

    def served(entry: JsonDict) -> Shares:
        return shares(action_weights(entry))

    return RouteView(
        f"HTTPRoute {prefix.removeprefix('httproute/')}", find, served, shares(weights), before_shares, labels
    )
