"""VirtualServices (with the DestinationRules, EnvoyFilters and JWT policies around them) → model routes.

One route per ``http[]`` entry, named by ``http[].name`` or ``<virtualservice>-<index>``. Rate
limits come from EnvoyFilters (``ratelimit`` decides which patch limits which route).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...model import CircuitBreaker, Jwt, JwtProvider, LimitRule, OutlierDetection, Route
from ..connector import Binding, Modelled, route_entries
from ..resources import JsonDict, ObjKey, Resource
from ..store import Store
from . import deny
from .common import RouteContext, gateway_refs, short_host
from .http import backends, cors, fault, headers, matches, mirror, retries
from .limit_rules import descriptor_rules, global_rules
from .ratelimit import LimitPatch, LimitSource, duration, limit_for, limit_patches
from .scope import selects, workloads_of


@dataclass(frozen=True)
class IstioKinds:
    """The Istio resources this cluster serves (None: not installed)."""

    virtual_service: Resource
    destination_rule: Resource | None
    gateway: Resource | None
    envoy_filter: Resource | None
    request_authentication: Resource | None
    authorization_policy: Resource | None


@dataclass(frozen=True)
class IstioRouteInfo:
    """Where a model route lives in Istio objects, and which object holds its rate limit."""

    context: RouteContext
    limit_source: LimitSource | None
    client_limits: tuple[LimitSource, ...] = ()


def _circuit_breaker(rule: JsonDict | None) -> CircuitBreaker | None:
    policy = ((rule or {}).get("spec") or {}).get("trafficPolicy") or {}
    pool = policy.get("connectionPool") or {}
    tcp, http = pool.get("tcp") or {}, pool.get("http") or {}
    od = policy.get("outlierDetection")
    outlier = None
    if isinstance(od, dict):
        d = OutlierDetection()
        outlier = OutlierDetection(
            consecutive_5xx=int(
                od.get("consecutive5xxErrors") or od.get("consecutiveGatewayErrors") or d.consecutive_5xx
            ),
            interval=duration(od.get("interval")) or d.interval,
            base_ejection_time=duration(od.get("baseEjectionTime")) or d.base_ejection_time,
            max_ejection_percent=int(od.get("maxEjectionPercent", d.max_ejection_percent)),
        )
    cb = CircuitBreaker(
        max_connections=tcp.get("maxConnections"),
        max_pending_requests=http.get("http1MaxPendingRequests"),
        max_requests=http.get("http2MaxRequests"),
        max_retries=http.get("maxRetries"),
        outlier_detection=outlier,
    )
    return cb if cb != CircuitBreaker() else None


# -- JWT from RequestAuthentication + AuthorizationPolicy -------------------------------------------


def _requires_principal(policy: JsonDict) -> bool:
    spec = policy.get("spec") or {}
    action = spec.get("action", "ALLOW")
    for rule in spec.get("rules") or []:
        for source in (rule or {}).get("from") or []:
            s = (source or {}).get("source") or {}
            if action == "ALLOW" and "*" in (s.get("requestPrincipals") or []):
                return True
            if action == "DENY" and "*" in (s.get("notRequestPrincipals") or []):
                return True
    return False


def jwt_for(request_auths: list[JsonDict], authz: list[JsonDict], ctx: RouteContext, root: str) -> Jwt | None:
    providers: list[JwtProvider] = []
    for ra in request_auths:
        meta, spec = ra.get("metadata") or {}, ra.get("spec") or {}
        if not selects(workloads_of(ra, root), ctx):
            continue
        for i, rule in enumerate(spec.get("jwtRules") or []):
            if not isinstance(rule, dict):
                continue
            providers.append(
                JwtProvider(
                    name=f"{meta.get('name')}-{i}",
                    issuer=str(rule.get("issuer") or ""),
                    audiences=tuple(str(a) for a in rule.get("audiences") or []),
                    jwks_uri=rule.get("jwksUri"),
                    jwks_inline=rule.get("jwks"),
                    from_headers=tuple(
                        str(h.get("name")) for h in rule.get("fromHeaders") or [] if isinstance(h, dict)
                    ),
                    forward=bool(rule.get("forwardOriginalToken", False)),
                )
            )
    if not providers:
        return None
    required = False
    for ap in authz:
        if selects(workloads_of(ap, root), ctx):
            required = required or _requires_principal(ap)
    return Jwt(providers=tuple(providers), required=required)


# -- the whole picture ------------------------------------------------------------------------------


def _host_namespace(host: str, namespace: str) -> str | None:
    """The namespace a DestinationRule ``host`` names a service of (None: external or wildcard)."""
    parts = host.split(".")
    if len(parts) == 1:
        return namespace
    if host.endswith((".svc.cluster.local", ".svc")) or len(parts) == 2:
        return parts[1]
    return None


def destination_rules(store: Store, kind: Resource | None, namespace: str, root: str) -> dict[str, JsonDict]:
    """The DestinationRule in force for each service (short name) of ``namespace``: the namespace's
    own first, then the root namespace's, as Istio looks them up. A rule with a ``workloadSelector``
    applies to the selected clients only, so it is not the route's."""
    out: dict[str, JsonDict] = {}
    for ns in dict.fromkeys([namespace, root]):
        for dr in store.of(kind, ns):
            spec = dr.get("spec") or {}
            host = str(spec.get("host") or "")
            if spec.get("workloadSelector") or _host_namespace(host, ns) not in (None, namespace):
                continue
            out.setdefault(short_host(host), dr)
    return out


def client_rules(partial: list[LimitPatch], root: str) -> tuple[LimitRule, ...]:
    """Limits that count only some clients' requests (their sidecars' outbound routes), read-only."""
    out = []
    for p in partial:
        meta = p.envoy_filter.get("metadata") or {}
        where = f"EnvoyFilter {meta.get('namespace')}/{meta.get('name')}"
        out.append(
            LimitRule(
                kind="local",
                requests=p.limit.requests,
                interval=p.limit.interval,
                clients=f"requests from {workloads_of(p.envoy_filter, root).describe()}",
                shadow=p.limit.shadow,
                source=f"{where} configPatches[{p.source.patch}]",
                why_readonly="it limits only the clients it selects; edit that EnvoyFilter",
            )
        )
    return tuple(out)


def _context(
    vs: JsonDict, i: int, http: JsonDict, namespace: str, gateways: dict[tuple[str, str], JsonDict]
) -> RouteContext:
    meta, spec = vs["metadata"], vs.get("spec") or {}
    refs, mesh = gateway_refs(vs, gateways)
    dests = [d.get("destination") or {} for d in http.get("route") or [] if isinstance(d, dict)]
    return RouteContext(
        namespace=meta.get("namespace") or namespace,
        virtual_service=meta["name"],
        index=i,
        hosts=tuple(str(h) for h in spec.get("hosts") or ()) or ("*",),
        http_name=http.get("name"),
        gateways=refs,
        mesh=mesh,
        destinations=tuple(short_host(str(d.get("host", ""))) for d in dests),
    )


def model(
    store: Store, kinds: IstioKinds, namespace: str, root: str, only: set[ObjKey] | None = None
) -> Modelled:
    gateways = {
        ((g.get("metadata") or {}).get("namespace") or "", (g.get("metadata") or {}).get("name") or ""): g
        for g in store.of(kinds.gateway)
    }
    rules = destination_rules(store, kinds.destination_rule, namespace, root)
    patches = limit_patches(store, kinds.envoy_filter, root)
    request_auths = store.of(kinds.request_authentication)
    authz = store.of(kinds.authorization_policy)
    out = Modelled()
    for vs, i, http, name in route_entries(store.of(kinds.virtual_service, namespace), "http"):
        key = ObjKey.for_object(kinds.virtual_service, vs)
        if only is not None and key not in only:
            continue
        ctx = _context(vs, i, http, namespace, gateways)
        limit, source, partial = limit_for(patches, ctx, root)
        dest_hosts = set(ctx.destinations)
        rule = rules.get(next(iter(dest_hosts))) if len(dest_hosts) == 1 else None
        route = Route(
            name=name,
            backends=backends(http),
            hosts=ctx.hosts,
            matches=matches(http),
            weight_mode="percent",
            rate_limit=limit,
            cors=cors(http.get("corsPolicy")),
            jwt=jwt_for(request_auths, authz, ctx, root) if request_auths else None,
            timeout=duration(http.get("timeout")),
            retries=retries(http.get("retries")),
            circuit_breaker=_circuit_breaker(rule),
            mirror=mirror(http),
            headers=headers(http),
            fault=fault(http.get("fault")),
            deny=deny.read(store, kinds.authorization_policy, ctx, name, root),
            limit_rules=client_rules(partial, root)
            + descriptor_rules(next((p for p in patches if p.source == source), None))
            + global_rules(store, kinds.envoy_filter, ctx, root),
            listener=ctx.gateways[0].name if ctx.gateways else "mesh",
            source=f"VirtualService {ctx.namespace}/{ctx.virtual_service} http[{i}]",
        )
        info = IstioRouteInfo(ctx, source, tuple(p.source for p in partial))
        out.add(route, Binding(name, key, i, http.get("name"), info))
    return out


def related(store: Store, kinds: IstioKinds, binding: Binding, root: str) -> list[ObjKey]:
    """The DestinationRule, Gateways, EnvoyFilters and JWT policies that shape a route."""
    info: IstioRouteInfo = binding.context
    ctx = info.context
    keys: list[ObjKey] = []
    for gw in ctx.gateways:
        if kinds.gateway is not None:
            keys.append(ObjKey.of(kinds.gateway, gw.namespace, gw.name))
    rules = destination_rules(store, kinds.destination_rule, ctx.namespace, root)
    for dest in ctx.destinations:
        if dest in rules:
            keys.append(ObjKey.for_object(kinds.destination_rule, rules[dest]))  # type: ignore[arg-type]
    if info.limit_source is not None:
        keys.append(info.limit_source.filter)
    keys += [source.filter for source in info.client_limits]
    for res in (kinds.request_authentication, kinds.authorization_policy):
        for obj in store.of(res):
            if selects(workloads_of(obj, root), ctx):
                keys.append(ObjKey.for_object(res, obj))  # type: ignore[arg-type]
    return [k for k in dict.fromkeys(keys) if store.get(k) is not None]
