"""Reading back what Envoy serves (``/config_dump``) and checking it matches what a plan wrote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base import Verification
from ..errors import GatewayError
from ..model import Gateway, Route
from .admin import AdminClient
from .names import CORS_FILTER, cluster_name
from .render_deny import denied, spelled
from .render_fault import fault_check
from .render_limits import has_bucket, limiter_on, served_limits, token_bucket
from .render_routes import cors_policy, sole_backend
from .render_shadow import is_shadow


def served_routes(
    admin: AdminClient, names: set[str], listeners: set[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Envoy's active route entries for the named routes, by route name, in the route configs of
    ``listeners`` (each listener's route config bears its name; default: every one). A removed
    listener's route config stays in Envoy's dump for a while and must not count."""
    dump = admin.config_dump("dynamic_route_configs")
    out: dict[str, list[dict[str, Any]]] = {}
    for item in dump.get("configs", []):
        config = item.get("route_config", {})
        if listeners is not None and config.get("name") not in listeners:
            continue
        for vhost in config.get("virtual_hosts", []):
            for entry in vhost.get("routes", []):
                if entry.get("name") in names:
                    out.setdefault(entry["name"], []).append(entry)
    return out


def _weights(entry: dict[str, Any]) -> dict[str, int]:
    action = entry.get("route", {})
    if "cluster" in action:
        return {action["cluster"]: 100}
    return {
        c["name"]: int(c.get("weight", 0)) for c in action.get("weighted_clusters", {}).get("clusters", [])
    }


def _expected_weights(route: Route) -> dict[str, int]:
    if (sole := sole_backend(route)) is not None:
        return {cluster_name(route.name, sole): 100}
    return {cluster_name(route.name, b.name): b.weight for b in route.backends}


def _origins(policy: dict[str, Any] | None) -> list[str]:
    if not policy:
        return []
    out = []
    for m in policy.get("allow_origin_string_match", []):
        if "safe_regex" in m:
            out.append("regex:" + m["safe_regex"].get("regex", ""))
        else:
            out += [f"{k}:{v}" for k, v in m.items() if k in ("exact", "prefix")]
    return out


def _seconds(value: Any) -> float:
    text = str(value or "0s").rstrip("s")
    try:
        return float(text)
    except ValueError:
        return -1.0


def check(admin: AdminClient, new: Gateway, names: Sequence[str]) -> Verification:
    wanted = {r.name: r for r in new.routes if r.name in set(names)}
    try:
        served = served_routes(admin, set(names), {x.name for x in new.listeners})
        buckets = served_limits(admin) if any(r.rate_limit for r in wanted.values()) else {}
    except GatewayError as exc:
        return Verification(False, (f"cannot read Envoy's config back: {exc}",))
    details: list[str] = []
    ok = True
    for name in names:
        route = wanted.get(name)
        entries = served.get(name, [])
        if route is None:
            if entries:
                ok = False
                details.append(f"{name}: still served after its removal")
            else:
                details.append(f"{name}: removed")
            continue
        if not entries:
            ok = False
            details.append(f"{name}: not in Envoy's active routes")
            continue
        expected = _expected_weights(route)
        bad = [e for e in entries if _weights(e) != expected]
        if bad:
            ok = False
            details.append(f"{name}: Envoy serves weights {_weights(bad[0])}, expected {expected}")
        else:
            details.append(f"{name}: weights " + ", ".join(f"{b.name} {b.weight}" for b in route.backends))
        want_cors = _origins(cors_policy(route))
        got_cors = _origins(entries[0].get("typed_per_filter_config", {}).get(CORS_FILTER))
        if want_cors != got_cors:
            ok = False
            details.append(f"{name}: Envoy's CORS origins {got_cors}, expected {want_cors}")
        want_deny = sorted(spelled(c) for c in route.deny.clients) if route.deny else []
        if denied(entries[0]) != want_deny:
            ok = False
            details.append(
                f"{name}: Envoy denies {denied(entries[0]) or 'nobody'}, expected {want_deny or 'nobody'}"
            )
        elif want_deny:
            details.append(f"{name}: denies {', '.join(want_deny)}")
        fault_ok, fault_line = fault_check(route, entries[0])
        ok = ok and fault_ok
        details += [fault_line] if fault_line else []
        on = limiter_on(entries[0], name)
        if route.rate_limit is None or not has_bucket(route):
            if on:
                ok = False
                details.append(f"{name}: still rate limited")
        else:
            bucket = buckets.get(name)
            want = token_bucket(route.rate_limit)
            if not on or bucket is None:
                ok = False
                details.append(f"{name}: rate limit not in effect")
            elif (
                int(bucket.get("max_tokens", 0)) != want["max_tokens"]
                or int(bucket.get("tokens_per_fill", 1)) != want["tokens_per_fill"]
                or abs(_seconds(bucket.get("fill_interval")) - _seconds(want["fill_interval"])) > 1e-3
            ):
                ok = False
                details.append(f"{name}: Envoy's bucket {bucket} differs from {want}")
            elif bool(bucket.get("shadow")) != is_shadow(route):
                ok = False
                what = "shadow (counting only)" if bucket.get("shadow") else "enforced"
                details.append(f"{name}: Envoy's rate limit is {what}, expected the other")
            else:
                details.append(
                    f"{name}: rate limit {route.rate_limit.describe() if route.rate_limit else ''}"
                )
    return Verification(ok, tuple(details))
