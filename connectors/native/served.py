"""What a route looks like to its clients, read from three places in one shape.

A *view* of a route is what traffic feels: where its requests go (weights by cluster), its CORS
policy and its rate-limit bucket. The same function reads it from a model (rendered as this tool
would write it), from the xDS files on disk and from what Envoy serves (``/config_dump``), so the
three can be compared field by field: the drift check and crash recovery both ask "does Envoy
serve what the YAML says?" this way.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from ..model import Gateway, Route
from .admin import AdminClient
from .names import BUCKET_KEY, CORS_FILTER, METADATA_NS, RATE_LIMIT_FILTER, SHADOW_FILTER_PREFIX
from .render import Layout, body_of, listeners_body, route_config_body
from .render_deny import denied
from .render_listener import descriptor
from .render_routes import route_entries
from .render_shadow import is_shadow

# One route: {"weights": {...}, "cors": {...} | None, "rate_limit": {...} | None, "deny": [...],
# "bucket_key": bool}
View = dict[str, Any]
FIELDS = ("weights", "cors", "rate_limit", "deny")  # what a view compares (bucket_key follows rate_limit)
Views = dict[str, View]  # by route name


def _seconds(value: Any) -> float:
    try:
        return round(float(str(value or "0s").rstrip("s")), 3)
    except ValueError:
        return -1.0


def _weights(entry: dict[str, Any]) -> dict[str, int]:
    action = entry.get("route", {})
    if "cluster" in action:
        return {str(action["cluster"]): 100}
    clusters = action.get("weighted_clusters", {}).get("clusters", [])
    return {str(c.get("name")): int(c.get("weight", 0)) for c in clusters}


def _cors(entry: dict[str, Any]) -> dict[str, Any] | None:
    policy = entry.get("typed_per_filter_config", {}).get(CORS_FILTER)
    if not policy:
        return None
    out = {k: v for k, v in policy.items() if k != "@type"}
    if "max_age" in out:
        out["max_age"] = str(out["max_age"])
    if out.get("allow_credentials") is False:
        del out["allow_credentials"]
    return out


def _bucket(bucket: dict[str, Any], shadow: bool) -> dict[str, Any]:
    return {
        "max_tokens": int(bucket.get("max_tokens", 0)),
        "tokens_per_fill": int(bucket.get("tokens_per_fill", 1)),
        "fill_interval_s": _seconds(bucket.get("fill_interval")),
        "shadow": shadow,
    }


def buckets_of(listeners: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rate-limit buckets in Listener resources, by route name."""
    out: dict[str, dict[str, Any]] = {}
    for lst in listeners:
        for chain in lst.get("filter_chains", []):
            for f in chain.get("filters", []):
                for hf in f.get("typed_config", {}).get("http_filters", []):
                    # A shadow limit (counting only) has a filter of its own (render_shadow).
                    shadow = str(hf.get("name", "")).startswith(SHADOW_FILTER_PREFIX)
                    if hf.get("name") != RATE_LIMIT_FILTER and not shadow:
                        continue
                    for d in hf.get("typed_config", {}).get("descriptors", []):
                        for e in d.get("entries", []):
                            if e.get("key") == BUCKET_KEY:
                                bucket = _bucket(d.get("token_bucket", {}), shadow)
                                out[str(e.get("value", ""))] = bucket
    return out


def views_of(
    route_configs: Iterable[dict[str, Any]],
    listeners: Iterable[dict[str, Any]],
    names: Collection[str] | None = None,
) -> Views:
    """Every route's view (or only ``names``') from RouteConfiguration and Listener resources (first
    entry of a route wins: a route is in several virtual hosts only when its hosts are, with the
    same action)."""
    buckets = buckets_of(listeners)
    out: Views = {}
    for config in route_configs:
        for vhost in config.get("virtual_hosts", []):
            for entry in vhost.get("routes", []):
                name = entry.get("name")
                if not isinstance(name, str) or name in out or name == "gatewayctl-probe":
                    continue
                if names is not None and name not in names:
                    continue
                key = (
                    entry.get("metadata", {}).get("filter_metadata", {}).get(METADATA_NS, {}).get(BUCKET_KEY)
                )
                out[name] = {
                    "weights": _weights(entry),
                    "cors": _cors(entry),
                    "rate_limit": buckets.get(name) if key == name else None,
                    "deny": denied(entry),
                    "bucket_key": key == name,  # the route takes its bucket (even if not read)
                }
    return out


def model_views(gw: Gateway, layout: Layout) -> Views:
    """The views this tool writes for ``gw`` (rendered, not read from disk)."""
    configs = [json.loads(route_config_body(gw, x.name))[0] for x in gw.listeners]
    listeners = json.loads(listeners_body(gw, layout, None, ()))
    return views_of(configs, listeners)


def _resources(path: Path) -> list[dict[str, Any]]:
    try:
        body = body_of(path.read_text(encoding="utf-8"))
        data = json.loads(body) if body is not None else json.loads(path.read_text("utf-8"))["resources"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def file_views(layout: Layout, listener_names: Iterable[str]) -> Views:
    """The views in the xDS files on disk."""
    configs = [c for n in listener_names for c in _resources(layout.rds(n))]
    return views_of(configs, _resources(layout.lds))


def envoy_views(
    admin: AdminClient,
    listener_names: Iterable[str] | None = None,
    *,
    buckets: bool = True,
    names: Collection[str] | None = None,
) -> Views:
    """The views Envoy serves (its active route configs and listeners). ``buckets=False`` skips
    reading the listeners when no route of interest has a bucket key (they are big with 10,000
    routes). Raises GatewayError when Envoy cannot be asked."""
    wanted = set(listener_names) if listener_names is not None else None
    routes = admin.config_dump("dynamic_route_configs")
    configs = [
        item.get("route_config", {})
        for item in routes.get("configs", [])
        if wanted is None or item.get("route_config", {}).get("name") in wanted
    ]
    if not buckets:
        return views_of(configs, [], names)
    dump = admin.config_dump("dynamic_listeners")
    listeners = [
        item.get("active_state", {}).get("listener", {})
        for item in dump.get("configs", [])
        if wanted is None or item.get("name") in wanted
    ]
    return views_of(configs, listeners, names)


def differences(expected: Views, actual: Views, names: Iterable[str] | None = None) -> dict[str, str]:
    """Route name -> one line saying how ``actual`` differs from ``expected`` (only routes that do)."""
    out: dict[str, str] = {}
    for name in names if names is not None else sorted({*expected, *actual}):
        want, got = expected.get(name), actual.get(name)
        if want == got:
            continue
        if want is None:
            out[name] = "present, expected absent"
        elif got is None:
            out[name] = "absent"
        else:
            fields = [k for k in FIELDS if want.get(k) != got.get(k)]
            out[name] = "; ".join(
                f"{k} {describe(k, got.get(k))} (expected {describe(k, want.get(k))})" for k in fields
            )
    return out


def describe(field: str, value: Any) -> str:
    """A field of a view in a few words."""
    if value is None:
        return "none"
    if field == "weights":
        return " ".join(f"{k.split('~', 1)[-1]}={v}" for k, v in value.items())
    if field == "rate_limit":
        shadow = " (shadow: counting only)" if value.get("shadow") else ""
        return f"{value['tokens_per_fill']}/{value['fill_interval_s']:g}s burst {value['max_tokens']}{shadow}"
    if field == "deny":
        return ", ".join(value) or "nobody"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def route_view(route: Route) -> View:
    """The view this tool writes for one route (without rendering the whole gateway)."""
    entries = route_entries(route)
    first = entries[0] if entries else {}
    d = descriptor(route)
    return {
        "weights": _weights(first) if first else {},
        "cors": _cors(first),
        "rate_limit": _bucket(d["token_bucket"], is_shadow(route)) if d is not None else None,
        "deny": denied(first),
        "bucket_key": d is not None,
    }
