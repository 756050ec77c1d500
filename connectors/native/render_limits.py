"""Rate limits through ECDS: each route with a limit has a limiter of its own, whose config Envoy
reads from a file of its own (Extension Config Discovery), so editing one limit rewrites that
file alone: the listener is not rewritten (Envoy would drain it and close every keep-alive
connection) and no other route's bucket refills (FACTS: a bucket lives as long as the config
that holds it).

- The listener holds one slot per route that has a limit (enabled, off or shadow):
  ``gatewayctl.ratelimit/<route>``, ``disabled`` (it runs on no route by default), its config from
  ``limit-<route>.json``. Adding a route's first limit or removing it adds or removes the slot: a
  listener rewrite, which refills every bucket (the plan says so).
- The route turns its own slot on in RDS (an empty ``FilterConfig``) while its limit is enabled;
  switching a limit off or on is a routes push and keeps the bucket.
- The file holds the bucket itself (a filter-wide ``token_bucket``: the limiter only runs on its
  route). A shadow limit is the same limiter enforcing 0 % (render_shadow); shadowing or enforcing
  is an edit of that file, like any change of requests, interval or burst: that bucket refills.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..model import RateLimit, Route, envoy_duration
from .admin import AdminClient
from .names import LIMIT_FILTER_PREFIX, RATE_LIMIT_STAT_PREFIX, TYPE, limit_filter_name
from .render_shadow import is_shadow, shadow_settings

LIMITER_TYPE = TYPE + "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
EXTENSION_TYPE = TYPE + "envoy.config.core.v3.TypedExtensionConfig"
FILTER_CONFIG_TYPE = TYPE + "envoy.config.route.v3.FilterConfig"
_PERCENT_100 = {"numerator": 100, "denominator": "HUNDRED"}


def has_limiter(route: Route) -> bool:
    """Whether the listener holds a limiter slot for ``route`` (it has a limit, even switched off)."""
    return route.rate_limit is not None


def has_bucket(route: Route) -> bool:
    """Whether the route's limiter runs (enforcing or shadow)."""
    return route.rate_limit is not None and route.rate_limit.enabled


def token_bucket(rl: RateLimit) -> dict[str, Any]:
    return {
        "max_tokens": rl.bucket_size,
        "tokens_per_fill": rl.requests,
        "fill_interval": envoy_duration(rl.interval),
    }


def limiter_slot(route: Route, path: Path) -> dict[str, Any]:
    """The listener's HTTP filter for ``route``'s limiter: off unless the route turns it on."""
    return {
        "name": limit_filter_name(route.name),
        "disabled": True,
        "config_discovery": {
            "config_source": {"resource_api_version": "V3", "path_config_source": {"path": str(path)}},
            "type_urls": [LIMITER_TYPE],
        },
    }


@lru_cache(maxsize=65536)
def limiter_config(route: Route) -> dict[str, Any]:
    """The limiter's own config (the ECDS resource's typed_config)."""
    assert route.rate_limit is not None  # has_limiter
    config: dict[str, Any] = {
        "@type": LIMITER_TYPE,
        "stat_prefix": RATE_LIMIT_STAT_PREFIX,
        "token_bucket": token_bucket(route.rate_limit),
        "filter_enabled": {"runtime_key": "gw_rate_limit_enabled", "default_value": _PERCENT_100},
        "filter_enforced": {"runtime_key": "gw_rate_limit_enforced", "default_value": _PERCENT_100},
        "local_rate_limit_per_downstream_connection": False,
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
    }
    if is_shadow(route):
        config.update(shadow_settings(route.name))
        del config["enable_x_ratelimit_headers"]
    return config


@lru_cache(maxsize=65536)
def limiter_body(route: Route) -> str:
    """The resources of ``route``'s limiter file (one TypedExtensionConfig)."""
    resource = {
        "@type": EXTENSION_TYPE,
        "name": limit_filter_name(route.name),
        "typed_config": limiter_config(route),
    }
    return json.dumps([resource], separators=(",", ":"))


def enabling(route: Route) -> dict[str, Any] | None:
    """The route's ``typed_per_filter_config`` entry that turns its limiter on, when it runs."""
    return {"@type": FILTER_CONFIG_TYPE, "config": {}} if has_bucket(route) else None


def summary(route: Route) -> dict[str, Any] | None:
    """What a plan shows of the route's limiter file."""
    if route.rate_limit is None:
        return None
    out: dict[str, Any] = {"token_bucket": token_bucket(route.rate_limit)}
    if is_shadow(route):
        out["shadow"] = True
    return out


def refills(old: Route | None, new: Route | None) -> bool:
    """Whether going from ``old`` to ``new`` rebuilds the route's bucket (its limiter file changes)."""
    if new is None or not has_bucket(new) or old is None or not has_limiter(old):
        return False
    return limiter_body(old) != limiter_body(new)


def served_limits(admin: AdminClient) -> dict[str, dict[str, Any]]:
    """The limiters Envoy serves (its ECDS resources), by route: token bucket and ``shadow``."""
    dump = admin.config_dump("ecds_filters")
    out: dict[str, dict[str, Any]] = {}
    for item in dump.get("configs", []):
        resource = item.get("ecds_filter", {})
        name = str(resource.get("name", ""))
        if not name.startswith(LIMIT_FILTER_PREFIX):
            continue
        config = resource.get("typed_config", {})
        enforced = config.get("filter_enforced", {}).get("default_value", {}).get("numerator", 0)
        out[name.removeprefix(LIMIT_FILTER_PREFIX)] = {
            **config.get("token_bucket", {}),
            "shadow": not enforced,
        }
    return out


def limiter_on(entry: dict[str, Any], route_name: str) -> bool:
    """Whether a served route entry turns its limiter on."""
    return limit_filter_name(route_name) in entry.get("typed_per_filter_config", {})
