"""VirtualServices (with the DestinationRules, EnvoyFilters and JWT policies around them) → model routes.

One route per ``http[]`` entry, named by ``http[].name`` or ``<virtualservice>-<index>``. Rate
limits come from EnvoyFilters (``ratelimit`` decides which patch limits which route).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...model import (
    CircuitBreaker,
    Cors,
    HeaderMatch,
    HeaderOps,
    HeaderRewrite,
    Jwt,
    JwtProvider,
    Mirror,
    OutlierDetection,
    Retries,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)
from ..connector import Binding, Modelled, route_entries
from ..resources import JsonDict, ObjKey, Resource
from ..store import Store
from .common import (
    RouteContext,
    destination_name,
    gateway_refs,
    selects,
    short_host,
)
from .ratelimit import LimitSource, duration, limit_for, limit_patches


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


def string_match(m: Any) -> StringMatch | None:
    if not isinstance(m, dict):
        return None
    for kind in ("exact", "prefix", "regex"):
        if kind in m:
            return StringMatch(kind, str(m[kind]))
    return None


def _matches(http: JsonDict) -> tuple[RouteMatch, ...]:
    out = []
    for m in http.get("match") or []:
        if not isinstance(m, dict):
            continue
        headers = []
        for invert, key in ((False, "headers"), (True, "withoutHeaders")):
            for name, value in (m.get(key) or {}).items():
                sm = string_match(value)
                if sm is None:
                    headers.append(HeaderMatch(str(name), "present", "", invert))
                else:
                    headers.append(HeaderMatch(str(name), sm.kind, sm.value, invert))
        method = string_match(m.get("method"))
        out.append(
            RouteMatch(
                path=string_match(m.get("uri")) or StringMatch("prefix", "/"),
                headers=tuple(headers),
                methods=(method.value.upper(),) if method and method.kind == "exact" else (),
            )
        )
    return tuple(out) or (RouteMatch(),)


def backends(http: JsonDict) -> tuple[WeightedBackend, ...]:
    dests = [d for d in http.get("route") or [] if isinstance(d, dict)]
    out = []
    for d in dests:
        weight = d.get("weight")
        if weight is None:
            weight = 100 if len(dests) == 1 else 0
        out.append(WeightedBackend(destination_name(d.get("destination") or {}), int(weight)))
    return tuple(out)


def cors(policy: Any) -> Cors | None:
    if not isinstance(policy, dict):
        return None
    origins = [sm for sm in (string_match(o) for o in policy.get("allowOrigins") or []) if sm]
    origins += [StringMatch("exact", str(o)) for o in policy.get("allowOrigin") or []]
    return Cors(
        allow_origins=tuple(origins),
        allow_methods=tuple(str(m).upper() for m in policy.get("allowMethods") or []),
        allow_headers=tuple(str(h) for h in policy.get("allowHeaders") or []),
        expose_headers=tuple(str(h) for h in policy.get("exposeHeaders") or []),
        max_age=duration(policy.get("maxAge")),
        allow_credentials=bool(policy.get("allowCredentials", False)),
    )


def _retries(policy: Any) -> Retries | None:
    if not isinstance(policy, dict):
        return None
    retry_on = tuple(p.strip() for p in str(policy.get("retryOn") or "").split(",") if p.strip())
    return Retries(
        attempts=int(policy.get("attempts", 2)),
        per_try_timeout=duration(policy.get("perTryTimeout")),
        retry_on=retry_on or Retries(1).retry_on,
    )


def _mirror(http: JsonDict) -> Mirror | None:
    if isinstance(http.get("mirror"), dict):
        pct = (http.get("mirrorPercentage") or {}).get("value", 100.0)
        return Mirror(destination_name(http["mirror"]), float(pct))
    for m in http.get("mirrors") or []:
        if isinstance(m, dict) and isinstance(m.get("destination"), dict):
            return Mirror(
                destination_name(m["destination"]), float((m.get("percentage") or {}).get("value", 100.0))
            )
    return None


def _ops(d: Any) -> HeaderOps:
    if not isinstance(d, dict):
        return HeaderOps()
    return HeaderOps(
        set=tuple((str(k), str(v)) for k, v in (d.get("set") or {}).items()),
        add=tuple((str(k), str(v)) for k, v in (d.get("add") or {}).items()),
        remove=tuple(str(h) for h in d.get("remove") or []),
    )


def _headers(http: JsonDict) -> HeaderRewrite | None:
    h = http.get("headers")
    if not isinstance(h, dict):
        return None
    rewrite = HeaderRewrite(request=_ops(h.get("request")), response=_ops(h.get("response")))
    return rewrite or None


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
        if not selects(
            (spec.get("selector") or {}).get("matchLabels"), meta.get("namespace") or "", ctx, root
        ):
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
        meta, spec = ap.get("metadata") or {}, ap.get("spec") or {}
        if selects((spec.get("selector") or {}).get("matchLabels"), meta.get("namespace") or "", ctx, root):
            required = required or _requires_principal(ap)
    return Jwt(providers=tuple(providers), required=required)


# -- the whole picture ------------------------------------------------------------------------------


def model(
    store: Store, kinds: IstioKinds, namespace: str, root: str, only: set[ObjKey] | None = None
) -> Modelled:
    gateways = {
        ((g.get("metadata") or {}).get("namespace") or "", (g.get("metadata") or {}).get("name") or ""): g
        for g in store.of(kinds.gateway)
    }
    rules: dict[str, JsonDict] = {}
    for dr in store.of(kinds.destination_rule, namespace):
        host = str((dr.get("spec") or {}).get("host") or "")
        rules.setdefault(short_host(host), dr)
    patches = limit_patches(store, kinds.envoy_filter, root)
    request_auths = store.of(kinds.request_authentication)
    authz = store.of(kinds.authorization_policy)
    out = Modelled()
    for vs, i, http, name in route_entries(store.of(kinds.virtual_service, namespace), "http"):
        key = ObjKey.for_object(kinds.virtual_service, vs)
        if only is not None and key not in only:
            continue
        meta, spec = vs["metadata"], vs.get("spec") or {}
        refs, mesh = gateway_refs(vs, gateways)
        dests = [d.get("destination") or {} for d in http.get("route") or [] if isinstance(d, dict)]
        ctx = RouteContext(
            namespace=meta.get("namespace") or namespace,
            virtual_service=meta["name"],
            index=i,
            hosts=tuple(str(h) for h in spec.get("hosts") or ()) or ("*",),
            http_name=http.get("name"),
            gateways=refs,
            mesh=mesh,
            destinations=tuple(short_host(str(d.get("host", ""))) for d in dests),
        )
        limit, source = limit_for(patches, ctx, root)
        dest_hosts = {short_host(str(d.get("host", ""))) for d in dests}
        rule = rules.get(next(iter(dest_hosts))) if len(dest_hosts) == 1 else None
        route = Route(
            name=name,
            backends=backends(http),
            hosts=ctx.hosts,
            matches=_matches(http),
            weight_mode="percent",
            rate_limit=limit,
            cors=cors(http.get("corsPolicy")),
            jwt=jwt_for(request_auths, authz, ctx, root) if request_auths else None,
            timeout=duration(http.get("timeout")),
            retries=_retries(http.get("retries")),
            circuit_breaker=_circuit_breaker(rule),
            mirror=_mirror(http),
            headers=_headers(http),
            listener=refs[0].name if refs else "mesh",
            source=f"VirtualService {ctx.namespace}/{meta['name']} http[{i}]",
        )
        out.add(route, Binding(name, key, i, http.get("name"), IstioRouteInfo(ctx, source)))
    return out


def related(store: Store, kinds: IstioKinds, binding: Binding, root: str) -> list[ObjKey]:
    """The DestinationRule, Gateways, EnvoyFilters and JWT policies that shape a route."""
    info: IstioRouteInfo = binding.context
    ctx = info.context
    keys: list[ObjKey] = []
    for gw in ctx.gateways:
        if kinds.gateway is not None:
            keys.append(ObjKey.of(kinds.gateway, gw.namespace, gw.name))
    for dr in store.of(kinds.destination_rule, ctx.namespace):
        if short_host(str((dr.get("spec") or {}).get("host") or "")) in ctx.destinations:
            keys.append(ObjKey.for_object(kinds.destination_rule, dr))  # type: ignore[arg-type]
    if info.limit_source is not None:
        keys.append(info.limit_source.filter)
    for res in (kinds.request_authentication, kinds.authorization_policy):
        for obj in store.of(res):
            meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
            if selects(
                (spec.get("selector") or {}).get("matchLabels"), meta.get("namespace") or "", ctx, root
            ):
                keys.append(ObjKey.for_object(res, obj))  # type: ignore[arg-type]
    return [k for k in dict.fromkeys(keys) if store.get(k) is not None]
