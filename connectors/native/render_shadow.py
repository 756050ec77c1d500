"""Shadow rate limits: a limit that is evaluated and counted but refuses nothing.

Each shadowed route gets its own local_ratelimit filter in the listener (after the enforcing one),
holding only that route's bucket, with ``filter_enabled`` 100 % and ``filter_enforced`` 0 %, and a
stat prefix of its own: ``gw_shadow_<route>.http_local_rate_limit.rate_limited`` counts exactly the
requests the limit would have refused (Envoy counts ``rate_limited`` before it checks whether to
enforce; ``enforced`` stays 0). A would-be refusal also gets the request header
``x-gatewayctl-shadow-limited: <route>`` (``request_headers_to_add_when_not_enforced``), which the
access log records, so the would-be limited clients can be named.

The bucket is in the listener like the enforced ones, so weight edits never refill it; shadowing or
enforcing a limit moves it between filters, which rewrites the listener (the plan says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..metrics_contract import SHADOW_STAT_PREFIX
from ..model import Route
from .names import BUCKET_KEY, METADATA_NS, SHADOW_FILTER_PREFIX

SHADOW_HEADER = "x-gatewayctl-shadow-limited"
_PERCENT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"


def is_shadow(route: Route) -> bool:
    rl = route.rate_limit
    return rl is not None and rl.enabled and rl.shadow


def stat_prefix(route_name: str) -> str:
    return f"{SHADOW_STAT_PREFIX}{route_name}"


def shadow_filter(route: Route, descriptor: dict[str, Any]) -> dict[str, Any]:
    """The listener filter that counts what ``route``'s limit would refuse."""
    return {
        "name": SHADOW_FILTER_PREFIX + route.name,
        # Off unless the route turns it on (its typed_per_filter_config): counts are its own.
        "disabled": True,
        "typed_config": {
            "@type": _PERCENT,
            "stat_prefix": stat_prefix(route.name),
            "filter_enabled": {
                "runtime_key": f"gw_shadow_enabled_{route.name}",
                "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            },
            # 0 %: the request goes on; Envoy still counts it as rate_limited.
            "filter_enforced": {
                "runtime_key": f"gw_shadow_enforced_{route.name}",
                "default_value": {"numerator": 0, "denominator": "HUNDRED"},
            },
            "request_headers_to_add_when_not_enforced": [
                {
                    "header": {"key": SHADOW_HEADER, "value": route.name},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }
            ],
            "descriptors": [descriptor],
            "rate_limits": [
                {
                    "actions": [
                        {
                            "metadata": {
                                "descriptor_key": BUCKET_KEY,
                                "metadata_key": {"key": METADATA_NS, "path": [{"key": BUCKET_KEY}]},
                                "source": "ROUTE_ENTRY",
                                "skip_if_absent": True,
                            }
                        }
                    ]
                }
            ],
            "local_rate_limit_per_downstream_connection": False,
            "always_consume_default_token_bucket": False,
        },
    }


def shadow_filters(routes: Sequence[Route], descriptor_of: Any) -> list[dict[str, Any]]:
    """One counting filter per shadowed route, in route order."""
    return [shadow_filter(r, descriptor_of(r)) for r in routes if is_shadow(r)]
