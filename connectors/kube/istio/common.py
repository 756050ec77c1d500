"""Names and matching rules shared by the Istio reader and writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..hosts import intersect_host
from ..resources import JsonDict

ROOT_NAMESPACE = "istio-system"
LOCAL_RATELIMIT = "envoy.filters.http.local_ratelimit"
TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct"
LOCAL_RATELIMIT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
HCM = "envoy.filters.network.http_connection_manager"


@dataclass(frozen=True)
class GatewayRef:
    """A Gateway a VirtualService is bound to; selector and ports are None/() if it was not read."""

    namespace: str
    name: str
    selector: tuple[tuple[str, str], ...] | None = None
    ports: tuple[int, ...] = ()
    hosts: tuple[str, ...] | None = None  # its servers' hosts (``[namespace/]dnsName``); None: not read


@dataclass(frozen=True)
class RouteContext:
    """What decides which EnvoyFilters and policies apply to one http[] entry of a VirtualService."""

    namespace: str
    virtual_service: str
    index: int
    hosts: tuple[str, ...]
    http_name: str | None
    gateways: tuple[GatewayRef, ...]
    mesh: bool
    destinations: tuple[str, ...]  # short service names of the route's destinations


def short_host(host: str) -> str:
    """``reviews.default.svc.cluster.local`` → ``reviews``; external names stay as they are."""
    parts = host.split(".")
    if len(parts) == 1 or host.endswith(".svc.cluster.local") or host.endswith(".svc") or len(parts) == 2:
        return parts[0]
    return host


def fqdn(host: str, namespace: str) -> str:
    return host if "." in host or host == "*" else f"{host}.{namespace}.svc.cluster.local"


def host_matches(vhost_host: str, vs_host: str, namespace: str) -> bool:
    return vhost_host in ("*", vs_host) or vs_host == "*" or fqdn(vs_host, namespace) == vhost_host


def destination_name(dest: JsonDict) -> str:
    """``reviews/v2``, ``productpage:9080``, ``reviews/v2:9080``: how a destination shows as a backend."""
    name = str(dest.get("host", "?"))
    if dest.get("subset"):
        name += f"/{dest['subset']}"
    port = (dest.get("port") or {}).get("number")
    if port:
        name += f":{port}"
    return name


def gateway_refs(
    vs: JsonDict, gateways: dict[tuple[str, str], JsonDict]
) -> tuple[tuple[GatewayRef, ...], bool]:
    ns = (vs.get("metadata") or {}).get("namespace") or ""
    names = (vs.get("spec") or {}).get("gateways") or []
    refs, mesh = [], not names
    for entry in names:
        if entry == "mesh":
            mesh = True
            continue
        gw_ns, _, gw_name = str(entry).rpartition("/")
        gw_ns = gw_ns or ns
        obj = gateways.get((gw_ns, gw_name))
        if obj is None:
            refs.append(GatewayRef(gw_ns, gw_name))
            continue
        spec = obj.get("spec") or {}
        selector = tuple(sorted((str(k), str(v)) for k, v in (spec.get("selector") or {}).items()))
        ports = tuple(
            int(s["port"]["number"])
            for s in spec.get("servers") or []
            if isinstance(s, dict) and isinstance(s.get("port"), dict) and s["port"].get("number")
        )
        hosts = tuple(
            str(h)
            for srv in spec.get("servers") or []
            if isinstance(srv, dict)
            for h in srv.get("hosts") or []
        )
        refs.append(GatewayRef(gw_ns, gw_name, selector, ports, hosts))
    return tuple(refs), mesh


def served_hosts(own: tuple[str, ...], refs: tuple[GatewayRef, ...], namespace: str) -> tuple[str, ...]:
    """The hosts of a VirtualService in ``namespace`` its bound Gateways serve: each of ``own``
    intersected with every server host whose ``namespace/`` part (``*``, ``.`` for the Gateway's own,
    or a name) admits the VirtualService. Gateways not read keep ``own``; no overlap keeps ``own``."""
    out: list[str] = []
    for ref in refs:
        if ref.hosts is None:
            return own
        for entry in ref.hosts:
            ns, _, dns = entry.rpartition("/")
            if ns not in ("", "*", namespace) and not (ns == "." and ref.namespace == namespace):
                continue
            out += [h for h in (intersect_host(r, dns) for r in own) if h is not None]
    return tuple(dict.fromkeys(out)) or own


def typed_config_value(config: Any) -> JsonDict | None:
    """The LocalRateLimit message inside a TypedStruct (``value``) or given directly (``@type``)."""
    if not isinstance(config, dict):
        return None
    if "type_url" in config and isinstance(config.get("value"), dict):
        return config["value"]  # type: ignore[no-any-return]
    return config


def camel(d: JsonDict, snake: str) -> Any:
    """A protobuf JSON field under its snake_case or lowerCamelCase name."""
    if snake in d:
        return d[snake]
    head, *rest = snake.split("_")
    return d.get(head + "".join(p.title() for p in rest))
