"""Envoy resources that belong to one route: its RDS route entries and its clusters.

Both are pure functions of the model, cached per (frozen, hashable) Route, so re-rendering a gateway
with 10,000 routes after a one-route edit only renders that route again.
"""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from typing import Any

from ..model import Backend, HeaderMatch, HeaderOps, Route, StringMatch, envoy_duration
from .names import CLUSTER_TYPE, CORS_FILTER, JWT_FILTER, RBAC_FILTER, cluster_name, limit_filter_name
from .render_deny import per_route as deny_per_route
from .render_fault import FAULT_FILTER
from .render_fault import per_route as fault_per_route
from .render_limits import enabling

_CACHE = 65536


def string_match(m: StringMatch) -> dict[str, Any]:
    if m.kind == "regex":
        return {"safe_regex": {"regex": m.value}}
    if m.kind == "wildcard":  # Envoy's CORS filter reads the exact origin "*" as every origin
        return {"exact": "*"} if m.value == "*" else {"safe_regex": {"regex": m.wildcard_regex()}}
    return {m.kind: m.value}


def _header_matcher(h: HeaderMatch) -> dict[str, Any]:
    out: dict[str, Any] = {"name": h.name}
    if h.kind == "present":
        out["present_match"] = True
    else:
        out["string_match"] = string_match(StringMatch(h.kind, h.value))
    if h.invert:
        out["invert_match"] = True
    return out


def _route_match(route: Route, index: int) -> dict[str, Any]:
    m = route.matches[index]
    path = {"exact": "path", "prefix": "prefix", "regex": "safe_regex"}[m.path.kind]
    out: dict[str, Any] = {path: {"regex": m.path.value} if m.path.kind == "regex" else m.path.value}
    headers = [_header_matcher(h) for h in m.headers]
    if m.methods and "*" not in m.methods:
        methods = sorted(set(m.methods))
        method_match = (
            {"exact": methods[0]} if len(methods) == 1 else {"safe_regex": {"regex": "|".join(methods)}}
        )
        headers.append({"name": ":method", "string_match": method_match})
    if headers:
        out["headers"] = headers
    return out


def _header_ops(ops: HeaderOps, side: str) -> dict[str, Any]:
    add = [
        {"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"} for k, v in ops.set
    ]
    add += [
        {"header": {"key": k, "value": v}, "append_action": "APPEND_IF_EXISTS_OR_ADD"} for k, v in ops.add
    ]
    out: dict[str, Any] = {}
    if add:
        out[f"{side}_headers_to_add"] = add
    if ops.remove:
        out[f"{side}_headers_to_remove"] = list(ops.remove)
    return out


def cors_policy(route: Route) -> dict[str, Any] | None:
    c = route.cors
    if c is None:
        return None
    out: dict[str, Any] = {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [string_match(o) for o in c.allow_origins],
    }
    if c.allow_methods:
        out["allow_methods"] = ",".join(c.allow_methods)
    if c.allow_headers:
        out["allow_headers"] = ",".join(c.allow_headers)
    if c.expose_headers:
        out["expose_headers"] = ",".join(c.expose_headers)
    if c.max_age is not None:
        out["max_age"] = str(int(c.max_age))
    if c.allow_credentials:
        out["allow_credentials"] = True
    return out


def sole_backend(route: Route) -> str | None:
    """The backend that takes all of the route's traffic (the only one, or the only one with a weight),
    or None when traffic is split."""
    weighted = [b.name for b in route.backends if b.weight > 0 or len(route.backends) == 1]
    return weighted[0] if len(weighted) == 1 else None


def _action(route: Route) -> dict[str, Any]:
    backends = route.backends
    action: dict[str, Any]
    if (sole := sole_backend(route)) is not None:
        # Most routes send everything to one backend (100/0 before and after a canary): a plain
        # cluster route. Envoy loads it a third faster than weighted_clusters, which is most of an
        # apply's latency with thousands of routes (bench/bench_apply.py).
        action = {"cluster": cluster_name(route.name, sole)}
    else:
        action = {
            "weighted_clusters": {
                "clusters": [{"name": cluster_name(route.name, b.name), "weight": b.weight} for b in backends]
            }
        }
    if route.timeout is not None:
        action["timeout"] = envoy_duration(route.timeout)
    if route.retries is not None:
        retry: dict[str, Any] = {
            "retry_on": ",".join(route.retries.retry_on),
            "num_retries": route.retries.attempts,
        }
        if route.retries.per_try_timeout is not None:
            retry["per_try_timeout"] = envoy_duration(route.retries.per_try_timeout)
        action["retry_policy"] = retry
    if route.mirror is not None:
        action["request_mirror_policies"] = [
            {
                "cluster": cluster_name(route.name, route.mirror.backend),
                "runtime_fraction": {
                    "default_value": {
                        "numerator": round(route.mirror.percent * 10_000),
                        "denominator": "MILLION",
                    }
                },
            }
        ]
    return action


@lru_cache(maxsize=_CACHE)
def route_entries(route: Route) -> tuple[dict[str, Any], ...]:
    """The Envoy route entries of ``route``: one per match, all named after the route."""
    common: dict[str, Any] = {"route": _action(route)}
    if route.headers:
        common.update(_header_ops(route.headers.request, "request"))
        common.update(_header_ops(route.headers.response, "response"))
    per_filter: dict[str, Any] = {}
    cors = cors_policy(route)
    if cors is not None:
        per_filter[CORS_FILTER] = cors
    if route.jwt is not None:
        per_filter[JWT_FILTER] = {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig",
            "requirement_name": route.name,
        }
    limiter = enabling(route)
    if limiter is not None:
        # The route's own limiter is off on every other route (render_limits). Only the switch
        # lives here; the bucket is in the limiter's file, so pushing routes never refills it.
        per_filter[limit_filter_name(route.name)] = limiter
    deny = deny_per_route(route)
    if deny is not None:
        per_filter[RBAC_FILTER] = deny
    if (fault := fault_per_route(route)) is not None:
        per_filter[FAULT_FILTER] = fault
    if per_filter:
        common["typed_per_filter_config"] = per_filter
    return tuple(
        {"name": route.name, "match": _route_match(route, i), **common} for i in range(len(route.matches))
    )


@lru_cache(maxsize=_CACHE)
def route_entries_json(route: Route) -> str:
    return ",".join(json.dumps(e, separators=(",", ":")) for e in route_entries(route))


def cluster_backends(route: Route) -> tuple[str, ...]:
    """Backends this route needs a cluster for: its weighted backends, then its mirror target."""
    names = [b.name for b in route.backends]
    if route.mirror is not None and route.mirror.backend not in names:
        names.append(route.mirror.backend)
    return tuple(names)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=_CACHE)
def cluster(route: Route, backend: Backend) -> dict[str, Any]:
    name = cluster_name(route.name, backend.name)
    static = all(_is_ip(e.host) for e in backend.endpoints)
    out: dict[str, Any] = {
        "@type": CLUSTER_TYPE,
        "name": name,
        "type": "STATIC" if static else "STRICT_DNS",
        "connect_timeout": envoy_duration(backend.connect_timeout),
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": e.host, "port_value": e.port}}
                            }
                        }
                        for e in backend.endpoints
                    ]
                }
            ],
        },
    }
    if not static:
        out["dns_lookup_family"] = "V4_PREFERRED"
    cb = route.circuit_breaker
    if cb is not None:
        threshold = {
            k: getattr(cb, k)
            for k in ("max_connections", "max_pending_requests", "max_requests", "max_retries")
            if getattr(cb, k) is not None
        }
        if threshold:
            out["circuit_breakers"] = {"thresholds": [threshold]}
        od = cb.outlier_detection
        if od is not None:
            out["outlier_detection"] = {
                "consecutive_5xx": od.consecutive_5xx,
                "interval": envoy_duration(od.interval),
                "base_ejection_time": envoy_duration(od.base_ejection_time),
                "max_ejection_percent": od.max_ejection_percent,
            }
    return out


@lru_cache(maxsize=_CACHE)
def cluster_json(route: Route, backend: Backend) -> str:
    return json.dumps(cluster(route, backend), separators=(",", ":"))


def route_clusters(route: Route, backends: dict[str, Backend]) -> list[dict[str, Any]]:
    return [cluster(route, backends[n]) for n in cluster_backends(route) if n in backends]
