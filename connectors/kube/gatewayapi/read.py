"""HTTPRoutes (and, with Envoy Gateway, the policies attached to them) → model routes.

One route per ``rules[]`` entry, named by the rule's ``name`` or ``<httproute>-<index>``; weights
are relative (``weight_mode="relative"``, a backendRef without weight counts 1). Which policies
apply, and which hosts a rule answers, is decided in ``attach``; the winning policy alone supplies
the route's rate limit / CORS / JWT (Envoy Gateway does not merge levels unless ``mergeType`` says
so). ``policy_read`` turns policy settings into model parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...model import (
    BackendFilter,
    HeaderMatch,
    HeaderOps,
    HeaderRewrite,
    Mirror,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)
from ..connector import Binding, Modelled, route_entries
from ..resources import JsonDict, ObjKey, Resource
from ..store import Store
from .attach import GATEWAY_GROUP, PolicyIndex, PolicyRef, parents, route_hosts
from .policy_read import (
    UNIT_SECONDS,
    authorization,
    circuit,
    cors_from_filter,
    cors_from_policy,
    deny_from_policy,
    duration,
    fault,
    jwt_from_policy,
    limit_from_policy,
    limit_rules,
    retries_from_policy,
    retries_from_rule,
    without_deny_rules,
)

__all__ = [
    "GATEWAY_GROUP",
    "UNIT_SECONDS",
    "PolicyRef",
    "cors_from_filter",
    "cors_from_policy",
    "limit_from_policy",
]

_PATH_KINDS = {"Exact": "exact", "PathPrefix": "prefix", "RegularExpression": "regex"}


@dataclass(frozen=True)
class GatewayApiKinds:
    """The Gateway API and Envoy Gateway resources this cluster serves (None: not installed)."""

    http_route: Resource
    gateway: Resource | None = None
    backend_traffic_policy: Resource | None = None
    security_policy: Resource | None = None
    client_traffic_policy: Resource | None = None


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


def _summary(f: JsonDict) -> str:
    """One filter's settings in a line (the detail view of a per-backend filter)."""
    kind = str(f.get("type") or "?")
    body = f.get(kind[:1].lower() + kind[1:]) or {}
    if kind.endswith("HeaderModifier") and isinstance(body, dict):
        ops = _header_ops(body)
        parts = [f"set {k}={v}" for k, v in ops.set] + [f"add {k}={v}" for k, v in ops.add]
        return "; ".join(parts + [f"remove {h}" for h in ops.remove])
    if kind == "RequestMirror" and isinstance(body, dict) and isinstance(body.get("backendRef"), dict):
        return f"mirror to {body['backendRef'].get('name')}"
    if kind == "ExtensionRef" and isinstance(f.get("extensionRef"), dict):
        return f"{f['extensionRef'].get('kind')}/{f['extensionRef'].get('name')}"
    return ", ".join(f"{k}={v}" for k, v in body.items()) if isinstance(body, dict) else ""


def backend_filters(rule: JsonDict, namespace: str) -> tuple[BackendFilter, ...]:
    """Filters that apply only to requests sent to one backendRef."""
    return tuple(
        BackendFilter(backend_name(ref, namespace), str(f.get("type") or "?"), _summary(f))
        for ref in rule.get("backendRefs") or []
        if isinstance(ref, dict)
        for f in ref.get("filters") or []
        if isinstance(f, dict)
    )


def _label(policy: JsonDict) -> str:
    meta = policy.get("metadata") or {}
    return f"{policy.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


# -- the whole picture ------------------------------------------------------------------------------


def model(store: Store, kinds: GatewayApiKinds, namespace: str, only: set[ObjKey] | None = None) -> Modelled:
    traffic = PolicyIndex(store, kinds.backend_traffic_policy)
    security = PolicyIndex(store, kinds.security_policy)
    out = Modelled()
    for obj, i, rule, name in route_entries(store.of(kinds.http_route, namespace), "rules"):
        key = ObjKey.for_object(kinds.http_route, obj)
        if only is not None and key not in only:
            continue
        btp = traffic.governing(obj, rule.get("name"))
        sp = security.governing(obj, rule.get("name"))
        route = _route(store, kinds, obj, i, rule, name, btp[0] if btp else {}, sp[0] if sp else {})
        info = RuleInfo(
            http_route=obj["metadata"]["name"],
            namespace=obj["metadata"].get("namespace") or namespace,
            index=i,
            rule_name=rule.get("name"),
            rule_count=len((obj.get("spec") or {}).get("rules") or []),
            traffic_policy=btp[1] if btp else None,
            security_policy=sp[1] if sp else None,
            cors_filter=filter_of(rule, "CORS") is not None,
        )
        out.add(route, Binding(name, key, i, rule.get("name"), info))
    return out


def _route(
    store: Store,
    kinds: GatewayApiKinds,
    obj: JsonDict,
    i: int,
    rule: JsonDict,
    name: str,
    btp: JsonDict,
    sp: JsonDict,
) -> Route:
    meta = obj["metadata"]
    ns = meta.get("namespace") or ""
    btp_spec, sp_spec = btp.get("spec") or {}, sp.get("spec") or {}
    cors_filter = filter_of(rule, "CORS")
    timeout = duration((rule.get("timeouts") or {}).get("request"))
    if timeout is None:
        timeout = duration(((btp_spec.get("timeout") or {}).get("http") or {}).get("requestTimeout"))
    gateways = parents(obj)
    return Route(
        name=name,
        backends=backends(rule, ns),
        hosts=route_hosts(obj, store, kinds.gateway),
        matches=_matches(rule),
        weight_mode="relative",
        rate_limit=limit_from_policy(btp_spec),
        cors=cors_from_filter(cors_filter.get("cors"))
        if cors_filter
        else cors_from_policy(sp_spec.get("cors")),
        jwt=jwt_from_policy(sp_spec),
        timeout=timeout,
        retries=retries_from_rule(rule.get("retry")) or retries_from_policy(btp_spec.get("retry")),
        circuit_breaker=circuit(btp_spec),
        mirror=_mirror(rule, ns),
        headers=_headers(rule),
        fault=fault(btp_spec),
        limit_rules=limit_rules(btp_spec, _label(btp)) if btp else (),
        authorization=without_deny_rules(authorization(sp_spec, _label(sp))) if sp else None,
        deny=deny_from_policy(sp_spec),
        backend_filters=backend_filters(rule, ns),
        listener=gateways[0][1] if gateways else None,
        source=f"HTTPRoute {ns}/{meta['name']} rules[{i}]",
    )


def related(store: Store, kinds: GatewayApiKinds, binding: Binding) -> list[ObjKey]:
    """The parent Gateways, the governing policies, and every ClientTrafficPolicy of a parent
    Gateway (or of the listener the route attaches through)."""
    info: RuleInfo = binding.context
    route = store.get(binding.source) or {}
    keys: list[ObjKey] = []
    if kinds.gateway is not None:
        keys += [ObjKey.of(kinds.gateway, gw_ns, gw_name) for gw_ns, gw_name, _ in parents(route)]
    for ref in (info.traffic_policy, info.security_policy):
        if ref is not None:
            keys.append(ref.key)
    clients = PolicyIndex(store, kinds.client_traffic_policy)
    keys += [ref.key for _, ref in clients.applying(route, info.rule_name)]
    return [k for k in dict.fromkeys(keys) if store.get(k) is not None]
