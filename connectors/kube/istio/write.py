"""Edits of Istio objects: weights, CORS and faults in the VirtualService, rate limits in EnvoyFilters.

Every function changes only the fields whose meaning changes, so a value written in another
spelling (``maxAge: 24h`` vs ``86400s``) that already means the wanted thing stays byte-for-byte.

New rate limits go into one EnvoyFilter per scope, in the shape of Istio's own example: a
``HTTP_FILTER`` patch inserting ``envoy.filters.http.local_ratelimit`` (inert, stat prefix only)
and one ``HTTP_ROUTE`` patch per limited route with its token bucket. The scope is the bound
Gateway's workloads (filter in the root namespace, selector = the Gateway's selector, context
GATEWAY) or the namespace's sidecars (context SIDECAR_OUTBOUND). One filter per scope keeps the
rate-limit filter from being inserted twice into the same proxy (which would count every request
twice). The Envoy route is matched by name, so an unnamed ``http[]`` entry is given its model name.
"""

from __future__ import annotations

import copy
from typing import Any

from ...errors import Problem, ValidationError
from ...metrics_contract import SHADOW_STAT_PREFIX
from ...model import Cors, Fault, RateLimit, Route
from ...model.durations import envoy_duration
from ...model.fault import plain_number
from ..connector import Binding
from ..cors_fields import cors_fields
from ..durations import k8s_duration
from ..objects import MANAGED_BY_LABEL, MANAGER, is_ours
from ..planning import ALL_AFFECTED_HINT
from ..resources import JsonDict, ObjKey, Resource
from ..store import Workspace
from .common import (
    HCM,
    LOCAL_RATELIMIT,
    LOCAL_RATELIMIT_TYPE,
    TYPED_STRUCT,
    RouteContext,
    destination_name,
    typed_config_value,
)
from .http import cors, fault
from .ratelimit import LimitSource, limit_from_config
from .read import IstioRouteInfo

STAT_PREFIX = "http_local_rate_limiter"


def _http(ws: Workspace, binding: Binding) -> JsonDict:
    vs = ws.edit(binding.source)
    return vs["spec"]["http"][binding.index]  # type: ignore[no-any-return]


def set_weights(ws: Workspace, binding: Binding, after: Route) -> None:
    http = _http(ws, binding)
    dests = [d for d in http.get("route") or [] if isinstance(d, dict)]
    wanted = {b.name: b.weight for b in after.backends}
    for d in dests:
        name = destination_name(d.get("destination") or {})
        if name not in wanted:
            continue
        implicit = 100 if len(dests) == 1 else 0
        if d.get("weight", implicit) != wanted[name]:
            d["weight"] = wanted[name]


def _origin(m: Any) -> JsonDict:
    # Envoy treats the exact origin "*" as every origin; Istio's StringMatch has no other wildcard.
    return {"exact": m.value} if m.kind == "wildcard" else {m.kind: m.value}


def origin_problems(cors: Cors, path: str) -> list[Problem]:
    """Wildcard origins Istio cannot write (only ``*`` itself)."""
    return [
        Problem(
            f"{path}.cors.allow_origins[{i}]",
            f"Istio CORS origins are exact, prefix or regex: write {o.value!r} as regex:{o.wildcard_regex()}",
        )
        for i, o in enumerate(cors.allow_origins)
        if o.kind == "wildcard" and o.value != "*"
    ]


def set_cors(ws: Workspace, binding: Binding, wanted: Cors | None) -> None:
    http = _http(ws, binding)
    if wanted is None:
        http.pop("corsPolicy", None)
        return
    old = http.get("corsPolicy") if isinstance(http.get("corsPolicy"), dict) else {}
    assert isinstance(old, dict)
    current = cors(old) or Cors()
    # Fields the model does not know (unmatchedPreflights...) stay; the deprecated allowOrigin is
    # rewritten as allowOrigins.
    new = cors_fields(
        old,
        current,
        wanted,
        origins=[_origin(o) for o in wanted.allow_origins],
        max_age=k8s_duration(wanted.max_age) if wanted.max_age is not None else None,
        replaces=("allowOrigin",),
    )
    http["corsPolicy"] = new


def _share(part: JsonDict, percent: float) -> None:
    part.pop("percent", None)  # the deprecated integer share gives way to ``percentage``
    part["percentage"] = {"value": plain_number(percent)}


def set_fault(ws: Workspace, binding: Binding, wanted: Fault | None) -> None:
    """``http[].fault``: only the parts whose meaning changes are rewritten (a share spelled
    ``percent`` that stays the same stays as it is; an abort with an HTTP/2 error, which the model
    does not show, is kept unless the whole fault goes)."""
    http = _http(ws, binding)
    if wanted is None:
        http.pop("fault", None)
        return
    old = http.get("fault") if isinstance(http.get("fault"), dict) else {}
    assert isinstance(old, dict)
    now = fault(old) or Fault()
    new = copy.deepcopy(old)
    if wanted.delay is None:
        if now.delay is not None:
            new.pop("delay", None)
    else:
        delay = new.setdefault("delay", {})
        if now.delay != wanted.delay:
            delay.pop("exponentialDelay", None)
            delay["fixedDelay"] = k8s_duration(wanted.delay)
        if now.delay is None or now.delay_percent != wanted.delay_percent:
            _share(delay, wanted.delay_percent)
    if wanted.abort_status is None and wanted.abort_grpc is None:
        if (now.abort_status, now.abort_grpc) != (None, None):
            new.pop("abort", None)  # an http2Error abort (not modelled) stays
    else:
        abort = new.setdefault("abort", {})
        if (now.abort_status, now.abort_grpc) != (wanted.abort_status, wanted.abort_grpc):
            for key in ("httpStatus", "grpcStatus", "http2Error"):
                abort.pop(key, None)
            if wanted.abort_status is not None:
                abort["httpStatus"] = wanted.abort_status
            else:
                abort["grpcStatus"] = wanted.abort_grpc
        if (now.abort_status, now.abort_grpc) == (None, None) or now.abort_percent != wanted.abort_percent:
            _share(abort, wanted.abort_percent)
    http["fault"] = new


# -- rate limits -------------------------------------------------------------------------------


def _percent(existing: Any, numerator: int, runtime_key: str) -> JsonDict:
    out = copy.deepcopy(existing) if isinstance(existing, dict) else {"runtime_key": runtime_key}
    default = out.get("default_value") if "default_value" in out else out.get("defaultValue")
    if not isinstance(default, dict):
        default = {}
    default = {**default, "numerator": numerator}
    default.setdefault("denominator", "HUNDRED")
    out["defaultValue" if "defaultValue" in out else "default_value"] = default
    return out


def write_limit(value: JsonDict, limit: RateLimit, route: str = "") -> None:
    """Set the token bucket and enablement of a LocalRateLimit message, keeping equal values as they
    are. A shadow limit (counted, never enforced) gets a stat prefix of its own, ``gw_shadow_<route>``,
    so its would-be refusals are told apart from the refusals of enforced limits."""
    current = limit_from_config(value)
    camel = "tokenBucket" in value
    if current is None or (current.requests, current.interval, current.bucket_size) != (
        limit.requests,
        limit.interval,
        limit.bucket_size,
    ):
        bucket = {
            "max_tokens": limit.bucket_size,
            "tokens_per_fill": limit.requests,
            "fill_interval": envoy_duration(limit.interval),
        }
        if camel:
            value["tokenBucket"] = {
                "maxTokens": bucket["max_tokens"],
                "tokensPerFill": limit.requests,
                "fillInterval": bucket["fill_interval"],
            }
        else:
            value["token_bucket"] = bucket
    if current is None or (current.enabled, current.shadow) != (limit.enabled, limit.shadow):
        enforced = 100 if limit.enabled and not limit.shadow else 0
        for key, camel_key, numerator, runtime in (
            ("filter_enabled", "filterEnabled", 100 if limit.enabled else 0, "local_rate_limit_enabled"),
            ("filter_enforced", "filterEnforced", enforced, "local_rate_limit_enforced"),
        ):
            name = camel_key if camel_key in value else key
            value[name] = _percent(value.get(name), numerator, runtime)
    prefix_key = "stat_prefix" if not camel else "statPrefix"
    if limit.shadow and limit.enabled:
        value[prefix_key] = f"{SHADOW_STAT_PREFIX}{route}"
    elif str(value.get(prefix_key, "")).startswith(SHADOW_STAT_PREFIX):
        value[prefix_key] = STAT_PREFIX  # enforced again: its refusals count as the gateway's
    value.setdefault(prefix_key, STAT_PREFIX)


def _typed(limit: RateLimit | None, route: str = "") -> JsonDict:
    value: JsonDict = {"stat_prefix": STAT_PREFIX}
    if limit is not None:
        write_limit(value, limit, route)
    return {"@type": TYPED_STRUCT, "type_url": LOCAL_RATELIMIT_TYPE, "value": value}


def _scope(ctx: RouteContext, root: str) -> tuple[str, str, JsonDict | None, str, str | None]:
    """(namespace, name, workload selector, match context, vhost name) of our EnvoyFilter for a route."""
    if ctx.gateways:
        gw = ctx.gateways[0]
        if gw.selector is None:
            raise ValidationError(
                [
                    Problem(
                        "rate_limit",
                        f"Gateway {gw.namespace}/{gw.name} was not found (or cannot be read), so the "
                        "proxies to limit are unknown",
                    )
                ]
            )
        vhost = f"{ctx.hosts[0]}:{gw.ports[0]}" if len(ctx.hosts) == 1 and len(gw.ports) == 1 else None
        name = f"gatewayctl-ratelimit-{gw.namespace}-{gw.name}"[:253]
        return root, name, {"labels": dict(gw.selector)}, "GATEWAY", vhost
    return ctx.namespace, "gatewayctl-ratelimit-mesh", None, "SIDECAR_OUTBOUND", None


def _route_patch(context: str, vhost: str | None, route_name: str, limit: RateLimit) -> JsonDict:
    vh: JsonDict = {"route": {"name": route_name}}
    if vhost:
        vh = {"name": vhost, **vh}
    return {
        "applyTo": "HTTP_ROUTE",
        "match": {"context": context, "routeConfiguration": {"vhost": vh}},
        "patch": {
            "operation": "MERGE",
            "value": {"typed_per_filter_config": {LOCAL_RATELIMIT: _typed(limit, route_name)}},
        },
    }


def _filter_patch(context: str) -> JsonDict:
    return {
        "applyTo": "HTTP_FILTER",
        "match": {"context": context, "listener": {"filterChain": {"filter": {"name": HCM}}}},
        "patch": {
            "operation": "INSERT_BEFORE",
            "value": {"name": LOCAL_RATELIMIT, "typed_config": _typed(None)},
        },
    }


def set_rate_limit(
    ws: Workspace,
    envoy_filter: Resource,
    binding: Binding,
    limit: RateLimit | None,
    sharers: list[str],
    root: str,
    allow_shared: bool = False,
) -> None:
    """Write ``limit`` where the route's limit comes from, or in our own EnvoyFilter. A limit that
    also limits ``sharers`` (other routes, workloads) is edited only when ``allow_shared``."""
    info: IstioRouteInfo = binding.context
    source = info.limit_source
    if source is not None:
        where = f"EnvoyFilter {source.filter.namespace}/{source.filter.name} configPatches[{source.patch}]"
        if sharers and not allow_shared:
            ef = ws.get(source.filter) or {}
            raise ValidationError(
                [
                    Problem(
                        f"routes.{binding.route}.rate_limit",
                        f"the limit comes from {where}, which also limits {'; '.join(sharers)}; "
                        f"{ALL_AFFECTED_HINT}, or edit that EnvoyFilter"
                        f"{'' if is_ours(ef) else ' (not created by gatewayctl-tui)'} directly",
                    )
                ]
            )
        if sharers:
            ws.warnings.append(f"{where} is shared: this edit also changes {'; '.join(sharers)}")
        _edit_source(ws, source, limit, binding.route)
        return
    if limit is None:
        return
    http = _http(ws, binding)
    if not http.get("name"):
        http["name"] = binding.route  # the HTTP_ROUTE patch finds the Envoy route by this name
    ns, name, selector, context, vhost = _scope(info.context, root)
    key = ObjKey.of(envoy_filter, ns, name)
    patch = _route_patch(context, vhost, str(http["name"]), limit)
    existing = ws.get(key)
    if existing is None:
        spec: JsonDict = {}
        if selector is not None:
            spec["workloadSelector"] = selector
        spec["configPatches"] = [_filter_patch(context), patch]
        ws.create(
            envoy_filter,
            {
                "apiVersion": envoy_filter.api_version,
                "kind": envoy_filter.kind,
                "metadata": {"name": name, "namespace": ns, "labels": {MANAGED_BY_LABEL: MANAGER}},
                "spec": spec,
            },
        )
    else:
        obj = ws.edit(key)
        obj.setdefault("spec", {}).setdefault("configPatches", []).append(patch)


def _edit_source(ws: Workspace, source: LimitSource, limit: RateLimit | None, route: str) -> None:
    ef = ws.edit(source.filter)
    patches = ef["spec"]["configPatches"]
    patch = patches[source.patch]
    value = (patch.get("patch") or {}).setdefault("value", {})
    if source.level == "route":
        per_filter_key = (
            "typed_per_filter_config" if "typed_per_filter_config" in value else "typedPerFilterConfig"
        )
        config = value[per_filter_key][LOCAL_RATELIMIT]
    else:
        config = value.get("typed_config") or value.get("typedConfig")
    inner = typed_config_value(config)
    assert inner is not None
    if limit is not None:
        write_limit(inner, limit, route)
        return
    if source.level == "filter":
        for key in (
            "token_bucket",
            "tokenBucket",
            "filter_enabled",
            "filterEnabled",
            "filter_enforced",
            "filterEnforced",
        ):
            inner.pop(key, None)
        return
    del patches[source.patch]
    if is_ours(ef) and not any(isinstance(p, dict) and p.get("applyTo") == "HTTP_ROUTE" for p in patches):
        ws.delete(source.filter)  # only the inert filter insert is left


def route_names_by_source(routes: dict[str, IstioRouteInfo]) -> dict[LimitSource, list[str]]:
    out: dict[LimitSource, list[str]] = {}
    for name, info in routes.items():
        if info.limit_source is not None:
            out.setdefault(info.limit_source, []).append(name)
    return out
