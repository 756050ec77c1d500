"""How an HTTPRoute rule shows up in Envoy's stats and logs, where its proxies run, and where clients
reach it.

Envoy Gateway names the cluster of rule ``i`` of HTTPRoute ``<ns>/<name>``
``httproute/<ns>/<name>/rule/<i>``; the rule's backendRefs are endpoints (localities) inside that one
cluster, so Prometheus can tell backends apart only when a rule has a single backend. Its access
log names the route ``httproute/<ns>/<name>/rule/<i>/match/<j>/<host>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ...errors import GatewayError
from ..connector import Modelled
from ..gateway_logs import PodSet
from ..resources import JsonDict, Resource
from ..store import Store
from .read import GATEWAY_GROUP, RuleInfo

Target = tuple[str, str]
_LOGGED_ROUTE = re.compile(r"^httproute/(?P<ns>[^/]+)/(?P<name>[^/]+)/rule/(?P<rule>\d+)(?:/|$)")
EG_OWNER_NAME = "gateway.envoyproxy.io/owning-gateway-name"
EG_OWNER_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"
EG_OWNER_CLASS = "gateway.envoyproxy.io/owning-gatewayclass"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"  # GEP-1762, any implementation


def cluster_name(info: RuleInfo) -> str:
    return f"httproute/{info.namespace}/{info.http_route}/rule/{info.index}"


def cluster_names(modelled: Modelled) -> dict[str, Target]:
    """Envoy Gateway cluster name → (model route, backend); the backend is known only for a rule
    with exactly one backendRef (Envoy keeps no per-backend stats inside a cluster)."""
    out: dict[str, Target] = {}
    for route in modelled.routes:
        info: RuleInfo = modelled.bindings[route.name].context
        backend = route.backends[0].name if len(route.backends) == 1 else ""
        out[cluster_name(info)] = (route.name, backend)
    return out


def logged_route_renamer(clusters: dict[str, Target]) -> Callable[[str], str | None]:
    """Logged route name (``httproute/<ns>/<name>/rule/<i>/match/...``) → model route name."""

    def rename(logged: str) -> str | None:
        m = _LOGGED_ROUTE.match(logged)
        if m is None:
            return None
        found = clusters.get(f"httproute/{m['ns']}/{m['name']}/rule/{m['rule']}")
        return found[0] if found is not None else None

    return rename


def parent_refs(route: JsonDict) -> list[JsonDict]:
    """The route's parentRefs that are Gateways."""
    return [
        p
        for p in (route.get("spec") or {}).get("parentRefs") or []
        if isinstance(p, dict)
        and (p.get("kind") or "Gateway") == "Gateway"
        and (p.get("group") or GATEWAY_GROUP) == GATEWAY_GROUP
    ]


def parent_gateways(routes: Iterable[JsonDict]) -> list[tuple[str, str]]:
    """(namespace, name) of every Gateway the routes attach to, in a stable order."""
    out: dict[tuple[str, str], None] = {}
    for route in routes:
        ns = (route.get("metadata") or {}).get("namespace") or ""
        for p in parent_refs(route):
            out[(str(p.get("namespace") or ns), str(p.get("name")))] = None
    return sorted(out)


def envoy_gateway_pods(
    gateways: list[tuple[str, str]], store: Store, gateway_kind: Resource | None, eg_namespace: str
) -> list[list[PodSet]]:
    """For each Gateway, where Envoy Gateway may run its proxies: its own namespace (default), the
    Gateway's namespace (gateway-namespace mode), or one deployment per GatewayClass (merged)."""
    groups = []
    for ns, name in gateways:
        owner = f"{EG_OWNER_NAME}={name},{EG_OWNER_NAMESPACE}={ns}"
        alternatives = [PodSet(eg_namespace, owner, ("envoy",))]
        if ns != eg_namespace:
            alternatives.append(PodSet(ns, owner, ("envoy",)))
        gateway = _stored_gateway(store, gateway_kind, ns, name)
        gateway_class = (gateway.get("spec") or {}).get("gatewayClassName") if gateway else None
        if gateway_class:
            alternatives.append(PodSet(eg_namespace, f"{EG_OWNER_CLASS}={gateway_class}", ("envoy",)))
        groups.append(alternatives)
    return groups


def gateway_api_pods(gateways: list[tuple[str, str]]) -> list[list[PodSet]]:
    """What any implementation provisions for a Gateway carries its name (GEP-1762)."""
    return [[PodSet(ns, f"{GATEWAY_NAME_LABEL}={name}", ("envoy", "istio-proxy"))] for ns, name in gateways]


def _stored_gateway(store: Store, kind: Resource | None, ns: str, name: str) -> JsonDict | None:
    for gateway in store.of(kind, ns):
        if (gateway.get("metadata") or {}).get("name") == name:
            return gateway
    return None


# -- where clients reach a route ----------------------------------------------------------------


def _host_matches(listener_host: str | None, host: str) -> bool:
    """Whether a listener hostname and a route hostname (either may be a wildcard) intersect."""
    if not listener_host or listener_host in ("*", host):
        return True
    if listener_host.startswith("*.") and host.endswith(listener_host[1:]):
        return True
    return host.startswith("*.") and listener_host.endswith(host[1:])


def concrete_host(host: str) -> str:
    """A Host header a wildcard accepts: ``*.example.com`` → ``www.example.com``."""
    return "www" + host[1:] if host.startswith("*.") else host


def _listener(gateway: JsonDict, parent: JsonDict, hostnames: list[str]) -> JsonDict | None:
    listeners = [
        lst
        for lst in (gateway.get("spec") or {}).get("listeners") or []
        if isinstance(lst, dict) and lst.get("protocol") in ("HTTP", "HTTPS")
    ]
    if parent.get("sectionName"):
        listeners = [lst for lst in listeners if lst.get("name") == parent["sectionName"]]
    if parent.get("port"):
        listeners = [lst for lst in listeners if lst.get("port") == parent["port"]]
    for lst in listeners:
        if not hostnames or any(_host_matches(lst.get("hostname"), h) for h in hostnames):
            return lst
    return None


def _host(listener: JsonDict, hostnames: list[str], address: str) -> str:
    """The route's first hostname the listener accepts, preferring one that is not a wildcard."""
    own = listener.get("hostname")
    accepted = [h for h in hostnames if _host_matches(own, h)] or hostnames
    exact = [h for h in accepted if not h.startswith("*")]
    if exact:
        return exact[0]
    if own and not str(own).startswith("*"):
        return str(own)
    return concrete_host(accepted[0] if accepted else str(own or address))


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def traffic_url(route: JsonDict, get_gateway: Callable[[str, str], JsonDict]) -> tuple[str, str] | None:
    """(base URL, Host) from the first parent Gateway with an address in its status: the address,
    the port of the listener the route attaches to, and the route's first hostname."""
    ns = (route.get("metadata") or {}).get("namespace") or ""
    hostnames = [str(h) for h in (route.get("spec") or {}).get("hostnames") or []]
    for parent in parent_refs(route):
        try:
            gateway = get_gateway(str(parent.get("namespace") or ns), str(parent.get("name")))
        except GatewayError:
            continue
        addresses = [a for a in (gateway.get("status") or {}).get("addresses") or [] if isinstance(a, dict)]
        listener = _listener(gateway, parent, hostnames)
        if not addresses or not addresses[0].get("value") or listener is None:
            continue
        address = str(addresses[0]["value"])
        scheme = "https" if listener.get("protocol") == "HTTPS" else "http"
        return f"{scheme}://{url_host(address)}:{listener.get('port')}", _host(listener, hostnames, address)
    return None
