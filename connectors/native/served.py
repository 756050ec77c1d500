"""What a route looks like to its clients, read from three places in one shape.

A *view* of a route is what traffic feels: where its requests go (weights by cluster), its CORS
policy, its rate limit, whom it denies and the fault it injects. The same functions read it from a
model (rendered as this tool would write it), from the xDS files on disk and from what Envoy serves
(``/config_dump``), so the three can be compared field by field: the drift check, crash recovery and
verification all ask "does Envoy serve what the YAML says?" this way.

A rate limit lives in two places (render_limits): the route turns its own limiter on in RDS, and
the limiter's bucket is an ECDS resource (``limit-<route>.json`` on disk, ``ecds_filters`` in
Envoy). A view's ``rate_limit`` is None while the route's limiter is off, else the bucket it runs
(with ``shadow``: counting only), or ``NO_LIMITER`` when it is on but nothing configures it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..model import Fault, Gateway, RateLimit, Route
from .admin import AdminClient
from .names import CORS_FILTER, limit_filter_name
from .render import Layout, body_of, route_config_body
from .render_deny import denied
from .render_fault import served_fault
from .render_limits import limiter_on, served_limits, token_bucket
from .render_routes import route_entries
from .render_shadow import is_shadow

# One route: {"weights": {...}, "cors": {...} | None, "rate_limit": {...} | None, "deny": [...],
# "fault": {...} | None}; JSON-like, so tests and reports can dump it.
View = dict[str, Any]
FIELDS = ("weights", "cors", "rate_limit", "deny", "fault")  # what a view compares
Views = dict[str, View]  # by route name
Buckets = Mapping[str, dict[str, Any]]  # route name -> its limiter's bucket (see _bucket)
NO_LIMITER = {"limiter": "missing"}  # the route turns its limiter on; no limiter config is there


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


def _fault(entry: dict[str, Any]) -> dict[str, Any] | None:
    fault = served_fault(entry)  # the model's terms: Envoy's spelling and this tool's compare equal
    return dataclasses.asdict(fault) if fault is not None else None


def _bucket(bucket: dict[str, Any], shadow: bool) -> dict[str, Any]:
    return {
        "max_tokens": int(bucket.get("max_tokens", 0)),
        "tokens_per_fill": int(bucket.get("tokens_per_fill", 1)),
        "fill_interval_s": _seconds(bucket.get("fill_interval")),
        "shadow": shadow,
    }


def limiter_bucket(config: dict[str, Any]) -> dict[str, Any]:
    """A limiter's bucket from its config (an ECDS resource's ``typed_config``): a shadow limiter
    enforces 0 % (render_shadow; Envoy's dump leaves a 0 out)."""
    enforced = config.get("filter_enforced", {}).get("default_value", {}).get("numerator", 0)
    return _bucket(config.get("token_bucket", {}), not enforced)


def model_bucket(route: Route) -> dict[str, Any] | None:
    """The bucket of ``route``'s limiter as this tool writes it (None without a limit)."""
    if route.rate_limit is None:
        return None
    return _bucket(token_bucket(route.rate_limit), is_shadow(route))


def entries_of(
    route_configs: Iterable[dict[str, Any]], names: Collection[str] | None = None
) -> dict[str, Any]:
    """The first route entry of every route (or only ``names``') in RouteConfiguration resources (a
    route is in several virtual hosts only when its hosts are, with the same action)."""
    out: dict[str, Any] = {}
    for config in route_configs:
        for vhost in config.get("virtual_hosts", []):
            for entry in vhost.get("routes", []):
                name = entry.get("name")
                if not isinstance(name, str) or name in out or name == "gatewayctl-probe":
                    continue
                if names is None or name in names:
                    out[name] = entry
    return out


def limited(entries: Mapping[str, dict[str, Any]]) -> list[str]:
    """The routes whose entry turns their limiter on."""
    return [name for name, entry in entries.items() if limiter_on(entry, name)]


def view_of(name: str, entry: dict[str, Any], buckets: Buckets) -> View:
    """A route's view from its route entry and the limiters' buckets."""
    on = limiter_on(entry, name)
    return {
        "weights": _weights(entry),
        "cors": _cors(entry),
        "rate_limit": buckets.get(name, NO_LIMITER) if on else None,
        "deny": denied(entry),
        "fault": _fault(entry),
    }


def views_of(entries: Mapping[str, dict[str, Any]], buckets: Buckets) -> Views:
    return {name: view_of(name, entry, buckets) for name, entry in entries.items()}


def model_views(gw: Gateway) -> Views:
    """The views this tool writes for ``gw`` (rendered, not read from disk)."""
    configs = [json.loads(route_config_body(gw, x.name))[0] for x in gw.listeners]
    buckets = {r.name: b for r in gw.routes if (b := model_bucket(r)) is not None}
    return views_of(entries_of(configs), buckets)


def _resources(path: Path) -> list[dict[str, Any]]:
    try:
        body = body_of(path.read_text(encoding="utf-8"))
        data = json.loads(body) if body is not None else json.loads(path.read_text("utf-8"))["resources"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def file_buckets(layout: Layout, routes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The buckets in the limiter files (ECDS) of ``routes`` on disk (a missing file: none)."""
    out: dict[str, dict[str, Any]] = {}
    for name in routes:
        for resource in _resources(layout.limit(name)):
            if resource.get("name") == limit_filter_name(name):  # Envoy takes no other
                out[name] = limiter_bucket(resource.get("typed_config", {}))
    return out


def file_views(layout: Layout, listener_names: Iterable[str]) -> Views:
    """The views in the xDS files on disk: the routes files and the limiter files they turn on."""
    entries = entries_of(c for n in listener_names for c in _resources(layout.rds(n)))
    return views_of(entries, file_buckets(layout, limited(entries)))


def envoy_buckets(admin: AdminClient) -> dict[str, dict[str, Any]]:
    """The buckets of the limiters Envoy serves (its ECDS resources), by route."""
    return {name: _bucket(b, bool(b.get("shadow"))) for name, b in served_limits(admin).items()}


def envoy_views(
    admin: AdminClient, listener_names: Iterable[str] | None = None, *, names: Collection[str] | None = None
) -> Views:
    """The views Envoy serves (its active route configs of ``listener_names``, default all; only
    ``names``' routes when given). Its limiters (ECDS) are read only when a route of interest turns
    one on. Raises GatewayError when Envoy cannot be asked."""
    wanted = set(listener_names) if listener_names is not None else None
    routes = admin.config_dump("dynamic_route_configs")
    configs = [
        item.get("route_config", {})
        for item in routes.get("configs", [])
        if wanted is None or item.get("route_config", {}).get("name") in wanted
    ]
    entries = entries_of(configs, names)
    return views_of(entries, envoy_buckets(admin) if limited(entries) else {})


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
        if value == NO_LIMITER:
            return "on without a limiter config"
        # In the model's words (the plan's): ``5/1m``, ``10/s burst 20 (shadow)``.
        limit = RateLimit(
            value["tokens_per_fill"], value["fill_interval_s"], value["max_tokens"], shadow=value["shadow"]
        )
        return limit.describe()
    if field == "deny":
        return ", ".join(value) or "nobody"
    if field == "fault":
        return Fault(**value).describe()
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def route_view(route: Route) -> View:
    """The view this tool writes for one route (without rendering the whole gateway)."""
    entries = route_entries(route)
    bucket = model_bucket(route)
    return view_of(route.name, entries[0] if entries else {}, {route.name: bucket} if bucket else {})
