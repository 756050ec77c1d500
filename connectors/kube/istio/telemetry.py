"""How a VirtualService route shows up in Istio's metrics and logs, where its gateway's proxies run,
and where clients reach it.

Istio's standard metrics name the destination, not the route: ``destination_service`` (the
service's FQDN) and ``destination_version`` (the pod's ``version`` label, which a DestinationRule
subset selects). A destination maps back to the route that sends it traffic; where several routes
send traffic to the same service version (a header-matched canary and the default split, say)
the metrics cannot tell them apart and it counts under the first of them, in Istio's route order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..connector import Modelled
from ..gateway_logs import PodSet
from ..resources import JsonDict
from .common import GatewayRef, destination_name, short_host
from .read import IstioRouteInfo

Target = tuple[str, str]
DEFAULT_INGRESS = PodSet("istio-system", "istio=ingressgateway", ("istio-proxy",))
_VERSION_LABELS = ("version", "app.kubernetes.io/version")
_UNLABELLED = ("", "unknown")  # what Istio reports for pods without a version label


def service_fqdn(host: str, namespace: str) -> str:
    """How ``destination_service`` names a VirtualService destination host."""
    if "." not in host and host != "*":
        return f"{host}.{namespace}.svc.cluster.local"
    if host.endswith(".svc"):
        return f"{host}.cluster.local"
    return host


def subset_versions(rules: Iterable[JsonDict]) -> dict[str, dict[str, str]]:
    """short host → subset name → the version its pods report (label ``version``, else the subset's
    name, the usual convention)."""
    out: dict[str, dict[str, str]] = {}
    for dr in rules:
        spec = dr.get("spec") or {}
        subsets = out.setdefault(short_host(str(spec.get("host") or "")), {})
        for s in spec.get("subsets") or []:
            if isinstance(s, dict) and s.get("name"):
                labels = s.get("labels") or {}
                version = next((labels[k] for k in _VERSION_LABELS if labels.get(k)), s["name"])
                subsets.setdefault(str(s["name"]), str(version))
    return out


def cluster_targets(
    modelled: Modelled, http_of: Callable[[str], JsonDict | None]
) -> Callable[[str], list[Target]]:
    """Envoy cluster name (``outbound|<port>|<subset>|<host FQDN>``) → the (route, backend)s whose
    destination it is; a destination without a port matches the service on any port."""
    index: dict[tuple[str, str, str], list[Target]] = {}
    for route in modelled.routes:
        info: IstioRouteInfo = modelled.bindings[route.name].context
        for d in (http_of(route.name) or {}).get("route") or []:
            dest = (d or {}).get("destination") if isinstance(d, dict) else None
            if not isinstance(dest, dict) or not dest.get("host"):
                continue
            port = str((dest.get("port") or {}).get("number") or "")
            key = (
                str(dest.get("subset") or ""),
                service_fqdn(str(dest["host"]), info.context.namespace),
                port,
            )
            index.setdefault(key, []).append((route.name, destination_name(dest)))

    def targets(cluster: str) -> list[Target]:
        direction, port, subset, host = ([*cluster.split("|"), "", "", ""])[:4]
        if direction != "outbound":
            return []
        return [*index.get((subset, host, port), []), *index.get((subset, host, ""), [])]

    return targets


def destinations(
    modelled: Modelled, http_of: Callable[[str], JsonDict | None], rules: Iterable[JsonDict]
) -> dict[tuple[str, str], Target]:
    """(destination_service, destination_version) → (model route, backend)."""
    versions = subset_versions(rules)
    weighted: list[tuple[tuple[str, str], Target]] = []
    unweighted: list[tuple[tuple[str, str], Target]] = []
    for route in modelled.routes:
        info: IstioRouteInfo = modelled.bindings[route.name].context
        http = http_of(route.name) or {}
        for d in http.get("route") or []:
            dest = (d or {}).get("destination") if isinstance(d, dict) else None
            if not isinstance(dest, dict) or not dest.get("host"):
                continue
            host = str(dest["host"])
            service = service_fqdn(host, info.context.namespace)
            known = versions.get(short_host(host), {})
            if dest.get("subset"):
                labels = [known.get(str(dest["subset"]), str(dest["subset"]))]
            else:  # every version of the service
                labels = [*_UNLABELLED, *known.values()]
            target = (route.name, destination_name(dest))
            carries = d.get("weight") is None or int(d.get("weight") or 0) > 0
            for version in labels:
                (weighted if carries else unweighted).append(((service, version), target))
    out: dict[tuple[str, str], Target] = {}
    for key, target in [*weighted, *unweighted]:
        out.setdefault(key, target)
    return out


def gateway_pods(gateways: Iterable[GatewayRef], root: str) -> list[list[PodSet]]:
    """The ingress proxies the VirtualServices' Gateways select (in the Gateway's namespace or the
    root namespace); Istio's default ingress gateway when none is known."""
    groups: list[list[PodSet]] = []
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for gw in gateways:
        if not gw.selector or (gw.namespace, gw.selector) in seen:
            continue
        seen.add((gw.namespace, gw.selector))
        selector = ",".join(f"{k}={v}" for k, v in gw.selector)
        namespaces = dict.fromkeys([gw.namespace, root])
        groups.append([PodSet(ns, selector, ("istio-proxy",)) for ns in namespaces])
    return groups or [[DEFAULT_INGRESS]]


def http_name_renamer(modelled: Modelled) -> Callable[[str], str | None]:
    """Logged route name → model route name. Istio names an Envoy route by ``http[].name`` (with
    ``.<match name>`` appended for a named match); only names unique in the namespace are mapped."""
    by_http: dict[str, list[str]] = {}
    for name, binding in modelled.bindings.items():
        if binding.native_name:
            by_http.setdefault(binding.native_name, []).append(name)
    unique = {logged: names[0] for logged, names in by_http.items() if len(names) == 1}

    def rename(logged: str) -> str | None:
        name = logged
        while name not in unique:
            name, dot, _ = name.rpartition(".")
            if not dot:
                return None
        return unique[name]

    return rename


# -- where clients reach a route ----------------------------------------------------------------


def _server(gateway: JsonDict, hosts: tuple[str, ...]) -> JsonDict | None:
    servers = [
        s
        for s in (gateway.get("spec") or {}).get("servers") or []
        if isinstance(s, dict)
        and isinstance(s.get("port"), dict)
        and str(s["port"].get("protocol", "HTTP")).upper() in ("HTTP", "HTTPS", "HTTP2")
    ]

    def accepts(server: JsonDict) -> bool:
        names = [str(h).rpartition("/")[2] for h in server.get("hosts") or []]  # "ns/host" → host
        return any(n in ("*", h) or (n.startswith("*.") and h.endswith(n[1:])) for n in names for h in hosts)

    return next((s for s in servers if accepts(s)), servers[0] if servers else None)


def _address(service: JsonDict) -> str | None:
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    for entry in ingress:
        if isinstance(entry, dict) and (entry.get("ip") or entry.get("hostname")):
            return str(entry.get("ip") or entry.get("hostname"))
    external = (service.get("spec") or {}).get("externalIPs") or []
    return str(external[0]) if external else None


def selects_gateway(service: JsonDict, selector: dict[str, str]) -> bool:
    """The Service fronts the gateway pods: it carries their labels, or selects pods by them."""
    meta_labels = (service.get("metadata") or {}).get("labels") or {}
    pod_selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and (
        selector.items() <= meta_labels.items() or selector.items() <= pod_selector.items()
    )


def _service_port(service: JsonDict, number: int) -> int:
    ports = [p for p in (service.get("spec") or {}).get("ports") or [] if isinstance(p, dict)]
    for p in ports:
        if p.get("port") == number:
            return number
    for p in ports:
        if p.get("targetPort") == number and p.get("port"):
            return int(p["port"])
    return number


def traffic_url(
    gateway: JsonDict, vs_hosts: tuple[str, ...], services: list[JsonDict]
) -> tuple[str, str] | None:
    """(base URL, Host): the ingress Service's external address, the port of the Gateway server that
    accepts the route's hosts, and the route's first concrete host."""
    server = _server(gateway, vs_hosts)
    selector = {str(k): str(v) for k, v in ((gateway.get("spec") or {}).get("selector") or {}).items()}
    if server is None:
        return None
    for service in services:
        if not selects_gateway(service, selector):
            continue
        address = _address(service)
        if address is None:
            continue
        port = _service_port(service, int(server["port"].get("number") or 80))
        scheme = "https" if str(server["port"].get("protocol", "")).upper() == "HTTPS" else "http"
        concrete = [h for h in vs_hosts if not h.startswith("*")]
        wildcard = [h for h in vs_hosts if h.startswith("*.")]
        host = concrete[0] if concrete else ("www" + wildcard[0][1:] if wildcard else address)
        shown = f"[{address}]" if ":" in address else address
        return f"{scheme}://{shown}:{port}", host
    return None
