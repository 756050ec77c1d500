"""HTTPRoutes (and, with Envoy Gateway, the policies attached to them) → model routes.

One route per ``rules[]`` entry, named by the rule's ``name`` or ``<httproute>-<index>``; weights
are relative (``weight_mode="relative"``, a backendRef without weight counts 1). Policies attach
by ``targetRefs`` (or the older ``targetRef``, or ``targetSelectors``): one naming a rule
(``sectionName``) beats one naming the HTTPRoute, which beats one naming its Gateway; at one
level the oldest wins, as Envoy Gateway decides. The winning policy alone supplies the route's
rate limit / CORS / JWT (Envoy Gateway does not merge levels unless ``mergeType`` says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...model import (
    CircuitBreaker,
    Cors,
    HeaderMatch,
    HeaderOps,
    HeaderRewrite,
    Jwt,
    JwtProvider,
    Mirror,
    RateLimit,
    Retries,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)
from ...model.durations import parse_duration
from ..connector import Binding, Modelled, route_entries
from ..resources import JsonDict, ObjKey, Resource
from ..store import Store

GATEWAY_GROUP = "gateway.networking.k8s.io"
UNIT_SECONDS = {
    "Second": 1.0,
    "Minute": 60.0,
    "Hour": 3600.0,
    "Day": 86400.0,
    "Week": 604800.0,
    "Month": 2592000.0,
    "Year": 31536000.0,
}
_PATH_KINDS = {"Exact": "exact", "PathPrefix": "prefix", "RegularExpression": "regex"}
Level = Literal["section", "route", "gateway"]
_LEVEL_RANK = {"section": 0, "route": 1, "gateway": 2}


@dataclass(frozen=True)
class GatewayApiKinds:
    """The Gateway API and Envoy Gateway resources this cluster serves (None: not installed)."""

    http_route: Resource
    gateway: Resource | None = None
    backend_traffic_policy: Resource | None = None
    security_policy: Resource | None = None


@dataclass(frozen=True)
class PolicyRef:
    """The policy governing a rule, how specifically it targets it, and whether it targets only it."""

    key: ObjKey
    level: Level
    exclusive: bool


@dataclass(frozen=True)
class RuleInfo:
    """Where a model route lives: its HTTPRoute rule and the policies attached to it."""

    http_route: str
    namespace: str
    index: int
    rule_name: str | None
    rule_count: int
    traffic_policy: PolicyRef | None
    security_policy: PolicyRef | None
    cors_filter: bool  # CORS comes from the rule's own CORS filter


def duration(value: Any) -> float | None:
    try:
        return parse_duration(value) if value is not None else None
    except ValueError:
        return None


def backend_name(ref: JsonDict, route_namespace: str) -> str:
    """``svc:8080``; ``other-ns/svc:8080`` across namespaces; ``Kind/name`` for non-Service backends."""
    name = str(ref.get("name", "?"))
    if ref.get("port"):
        name += f":{ref['port']}"
    ns = ref.get("namespace")
    if ns and ns != route_namespace:
        name = f"{ns}/{name}"
    kind = ref.get("kind") or "Service"
    if kind != "Service" or (ref.get("group") or "") not in ("", "core"):
        name = f"{kind}/{name}"
    return name


def _matches(rule: JsonDict) -> tuple[RouteMatch, ...]:
    out = []
    for m in rule.get("matches") or []:
        if not isinstance(m, dict):
            continue
        path = m.get("path") or {}
        kind = _PATH_KINDS.get(str(path.get("type") or "PathPrefix"), "prefix")
        headers = tuple(
            HeaderMatch(
                str(h.get("name", "")),
                "regex" if h.get("type") == "RegularExpression" else "exact",
                str(h.get("value", "")),
            )
            for h in m.get("headers") or []
            if isinstance(h, dict)
        )
        out.append(
            RouteMatch(
                path=StringMatch(kind, str(path.get("value") or "/")),  # type: ignore[arg-type]
                headers=headers,
                methods=(str(m["method"]).upper(),) if m.get("method") else (),
            )
        )
    return tuple(out) or (RouteMatch(),)


def backends(rule: JsonDict, namespace: str) -> tuple[WeightedBackend, ...]:
    return tuple(
        WeightedBackend(backend_name(ref, namespace), int(ref.get("weight", 1)))
        for ref in rule.get("backendRefs") or []
        if isinstance(ref, dict)
    )


def filter_of(rule: JsonDict, kind: str) -> JsonDict | None:
    for f in rule.get("filters") or []:
        if isinstance(f, dict) and f.get("type") == kind:
            return f
    return None


def cors_from_filter(c: Any) -> Cors | None:
    if not isinstance(c, dict):
        return None
    max_age = c.get("maxAge")
    return Cors(
        allow_origins=tuple(StringMatch("exact", str(o)) for o in c.get("allowOrigins") or []),
        allow_methods=tuple(str(m).upper() for m in c.get("allowMethods") or []),
        allow_headers=tuple(str(h) for h in c.get("allowHeaders") or []),
        expose_headers=tuple(str(h) for h in c.get("exposeHeaders") or []),
        max_age=float(max_age) if isinstance(max_age, int | float) else None,
        allow_credentials=bool(c.get("allowCredentials", False)),
    )


def cors_from_policy(c: Any) -> Cors | None:
    """SecurityPolicy ``cors``: like the filter, but ``maxAge`` is a duration string."""
    if not isinstance(c, dict):
        return None
    base = cors_from_filter({k: v for k, v in c.items() if k != "maxAge"})
    assert base is not None
    return Cors(
        allow_origins=base.allow_origins,
        allow_methods=base.allow_methods,
        allow_headers=base.allow_headers,
        expose_headers=base.expose_headers,
        max_age=duration(c.get("maxAge")),
        allow_credentials=base.allow_credentials,
    )


def limit_from_policy(spec: JsonDict) -> RateLimit | None:
    """The rule of ``rateLimit.local`` that applies to every client (no ``clientSelectors``)."""
    local = (spec.get("rateLimit") or {}).get("local") or {}
    for rule in local.get("rules") or []:
        if not isinstance(rule, dict) or rule.get("clientSelectors"):
            continue
        limit = rule.get("limit") or {}
        seconds = UNIT_SECONDS.get(str(limit.get("unit")))
        if seconds is None or limit.get("requests") is None:
            continue
        return RateLimit(
            requests=int(limit["requests"]), interval=seconds, enabled=not rule.get("shadowMode", False)
        )
    return None


def jwt_from_policy(spec: JsonDict) -> Jwt | None:
    jwt = spec.get("jwt")
    if not isinstance(jwt, dict):
        return None
    providers = []
    for p in jwt.get("providers") or []:
        if not isinstance(p, dict):
            continue
        local = p.get("localJWKS") or {}
        providers.append(
            JwtProvider(
                name=str(p.get("name", "?")),
                issuer=str(p.get("issuer") or ""),
                audiences=tuple(str(a) for a in p.get("audiences") or []),
                jwks_uri=(p.get("remoteJWKS") or {}).get("uri"),
                jwks_inline=local.get("inline"),
                from_headers=tuple(
                    str(h.get("name"))
                    for h in (p.get("extractFrom") or {}).get("headers") or []
                    if isinstance(h, dict)
                ),
                forward=bool(p.get("forwardOriginalToken", False)),
            )
        )
    return Jwt(providers=tuple(providers), required=not jwt.get("optional", False)) if providers else None


def _header_ops(f: JsonDict | None) -> HeaderOps:
    if not f:
        return HeaderOps()
    return HeaderOps(
        set=tuple(
            (str(h.get("name")), str(h.get("value"))) for h in f.get("set") or [] if isinstance(h, dict)
        ),
        add=tuple(
            (str(h.get("name")), str(h.get("value"))) for h in f.get("add") or [] if isinstance(h, dict)
        ),
        remove=tuple(str(h) for h in f.get("remove") or []),
    )


def _headers(rule: JsonDict) -> HeaderRewrite | None:
    req = (filter_of(rule, "RequestHeaderModifier") or {}).get("requestHeaderModifier")
    resp = (filter_of(rule, "ResponseHeaderModifier") or {}).get("responseHeaderModifier")
    rewrite = HeaderRewrite(request=_header_ops(req), response=_header_ops(resp))
    return rewrite or None


def _mirror(rule: JsonDict, namespace: str) -> Mirror | None:
    f = (filter_of(rule, "RequestMirror") or {}).get("requestMirror")
    if not isinstance(f, dict) or not isinstance(f.get("backendRef"), dict):
        return None
    percent = 100.0
    if f.get("percent") is not None:
        percent = float(f["percent"])
    elif isinstance(f.get("fraction"), dict):
        frac = f["fraction"]
        percent = 100.0 * float(frac.get("numerator", 0)) / float(frac.get("denominator", 100) or 100)
    return Mirror(backend_name(f["backendRef"], namespace), percent)


def _retries(rule: JsonDict, policy: JsonDict) -> Retries | None:
    if isinstance(rule.get("retry"), dict):
        r = rule["retry"]
        codes = tuple(str(c) for c in r.get("codes") or [])
        return Retries(attempts=int(r.get("attempts", 1)), retry_on=codes or Retries(1).retry_on)
    r = policy.get("retry")
    if not isinstance(r, dict):
        return None
    triggers = tuple(str(t) for t in (r.get("retryOn") or {}).get("triggers") or [])
    return Retries(
        attempts=int(r.get("numRetries", 2)),
        per_try_timeout=duration((r.get("perRetry") or {}).get("timeout")),
        retry_on=triggers or Retries(1).retry_on,
    )


def _circuit(policy: JsonDict) -> CircuitBreaker | None:
    cb = policy.get("circuitBreaker")
    if not isinstance(cb, dict):
        return None
    return CircuitBreaker(
        max_connections=cb.get("maxConnections"),
        max_pending_requests=cb.get("maxPendingRequests"),
        max_requests=cb.get("maxParallelRequests"),
        max_retries=cb.get("maxParallelRetries"),
    )


# -- policy attachment ---------------------------------------------------------------------------


def policy_targets(policy: JsonDict) -> list[JsonDict]:
    spec = policy.get("spec") or {}
    refs = [r for r in spec.get("targetRefs") or [] if isinstance(r, dict)]
    if isinstance(spec.get("targetRef"), dict):
        refs.append(spec["targetRef"])
    return refs


class PolicyIndex:
    """Policies of one kind by what they target, so 2,000 routes do not scan every policy each."""

    def __init__(self, store: Store, kind: Resource | None, namespace: str) -> None:
        self.kind = kind
        self.by_route: dict[str, list[tuple[JsonDict, str | None, int]]] = {}
        self.by_gateway: dict[str, list[tuple[JsonDict, int]]] = {}
        self.selectors: list[tuple[JsonDict, dict[str, str], int]] = []
        for policy in store.of(kind, namespace):
            refs = policy_targets(policy)
            selectors = [
                s for s in (policy.get("spec") or {}).get("targetSelectors") or [] if isinstance(s, dict)
            ]
            count = len(refs) + len(selectors)
            for ref in refs:
                if (ref.get("group") or GATEWAY_GROUP) != GATEWAY_GROUP:
                    continue
                if ref.get("kind") == "HTTPRoute":
                    self.by_route.setdefault(str(ref.get("name")), []).append(
                        (policy, ref.get("sectionName"), count)
                    )
                elif ref.get("kind") == "Gateway":
                    self.by_gateway.setdefault(str(ref.get("name")), []).append((policy, count))
            for sel in selectors:
                if sel.get("kind", "HTTPRoute") == "HTTPRoute":
                    labels = {str(k): str(v) for k, v in (sel.get("matchLabels") or {}).items()}
                    self.selectors.append((policy, labels, 2))  # a selector may pick other routes too

    def governing(self, route: JsonDict, rule_name: str | None) -> tuple[JsonDict, PolicyRef] | None:
        if self.kind is None:
            return None
        meta = route.get("metadata") or {}
        name, labels = str(meta.get("name")), meta.get("labels") or {}
        found: list[tuple[int, str, str, JsonDict, Level, bool]] = []

        def add(policy: JsonDict, level: Level, exclusive: bool) -> None:
            pmeta = policy.get("metadata") or {}
            found.append(
                (
                    _LEVEL_RANK[level],
                    str(pmeta.get("creationTimestamp") or ""),
                    str(pmeta.get("name")),
                    policy,
                    level,
                    exclusive,
                )
            )

        for policy, section, count in self.by_route.get(name, []):
            if section is None:
                add(policy, "route", count == 1)
            elif section == rule_name:
                add(policy, "section", count == 1)
        for policy, sel, _ in self.selectors:
            if sel.items() <= {str(k): str(v) for k, v in labels.items()}.items():
                add(policy, "route", False)
        for parent in (route.get("spec") or {}).get("parentRefs") or []:
            if isinstance(parent, dict) and (parent.get("kind") or "Gateway") == "Gateway":
                for policy, _ in self.by_gateway.get(str(parent.get("name")), []):
                    add(policy, "gateway", False)
        if not found:
            return None
        _, _, _, policy, level, exclusive = min(found, key=lambda f: f[:3])
        return policy, PolicyRef(ObjKey.for_object(self.kind, policy), level, exclusive)


# -- the whole picture ------------------------------------------------------------------------------


def model(store: Store, kinds: GatewayApiKinds, namespace: str, only: set[ObjKey] | None = None) -> Modelled:
    traffic = PolicyIndex(store, kinds.backend_traffic_policy, namespace)
    security = PolicyIndex(store, kinds.security_policy, namespace)
    out = Modelled()
    for obj, i, rule, name in route_entries(store.of(kinds.http_route, namespace), "rules"):
        key = ObjKey.for_object(kinds.http_route, obj)
        if only is not None and key not in only:
            continue
        meta, spec = obj["metadata"], obj.get("spec") or {}
        ns = meta.get("namespace") or namespace
        btp = traffic.governing(obj, rule.get("name"))
        sp = security.governing(obj, rule.get("name"))
        btp_spec = (btp[0].get("spec") or {}) if btp else {}
        sp_spec = (sp[0].get("spec") or {}) if sp else {}
        cors_filter = filter_of(rule, "CORS")
        timeout = duration((rule.get("timeouts") or {}).get("request"))
        if timeout is None:
            timeout = duration(((btp_spec.get("timeout") or {}).get("http") or {}).get("requestTimeout"))
        parents = [p for p in spec.get("parentRefs") or [] if isinstance(p, dict)]
        route = Route(
            name=name,
            backends=backends(rule, ns),
            hosts=tuple(str(h) for h in spec.get("hostnames") or ()) or ("*",),
            matches=_matches(rule),
            weight_mode="relative",
            rate_limit=limit_from_policy(btp_spec),
            cors=cors_from_filter(cors_filter.get("cors"))
            if cors_filter
            else cors_from_policy(sp_spec.get("cors")),
            jwt=jwt_from_policy(sp_spec),
            timeout=timeout,
            retries=_retries(rule, btp_spec),
            circuit_breaker=_circuit(btp_spec),
            mirror=_mirror(rule, ns),
            headers=_headers(rule),
            listener=str(parents[0].get("name")) if parents else None,
            source=f"HTTPRoute {ns}/{meta['name']} rules[{i}]",
        )
        info = RuleInfo(
            http_route=meta["name"],
            namespace=ns,
            index=i,
            rule_name=rule.get("name"),
            rule_count=len(spec.get("rules") or []),
            traffic_policy=btp[1] if btp else None,
            security_policy=sp[1] if sp else None,
            cors_filter=cors_filter is not None,
        )
        out.add(route, Binding(name, key, i, rule.get("name"), info))
    return out


def related(store: Store, kinds: GatewayApiKinds, binding: Binding) -> list[ObjKey]:
    info: RuleInfo = binding.context
    route = store.get(binding.source) or {}
    keys: list[ObjKey] = []
    if kinds.gateway is not None:
        for parent in (route.get("spec") or {}).get("parentRefs") or []:
            if isinstance(parent, dict) and (parent.get("kind") or "Gateway") == "Gateway":
                keys.append(
                    ObjKey.of(
                        kinds.gateway, parent.get("namespace") or info.namespace, str(parent.get("name"))
                    )
                )
    for ref in (info.traffic_policy, info.security_policy):
        if ref is not None:
            keys.append(ref.key)
    return [k for k in dict.fromkeys(keys) if store.get(k) is not None]
