"""Shadow rate limits: a limit that is evaluated and counted but refuses nothing.

A shadowed route's limiter (render_limits: its own ECDS resource) enforces 0 % and has a stat
prefix of its own: ``gw_shadow_<route>.http_local_rate_limit.rate_limited`` counts exactly the
requests the limit would have refused (Envoy counts ``rate_limited`` before it checks whether to
enforce; ``enforced`` stays 0). A would-be refusal also gets the request header
``x-gatewayctl-shadow-limited: <route>`` (``request_headers_to_add_when_not_enforced``), which the
access log records, so the would-be limited clients can be named.

Shadowing or enforcing a limit rewrites that route's limiter file alone: its bucket refills, no
other does, and the listener is not rewritten.
"""

from __future__ import annotations

from typing import Any

from ..metrics_contract import SHADOW_STAT_PREFIX
from ..model import Route

SHADOW_HEADER = "x-gatewayctl-shadow-limited"


def is_shadow(route: Route) -> bool:
    rl = route.rate_limit
    return rl is not None and rl.enabled and rl.shadow


def stat_prefix(route_name: str) -> str:
    return f"{SHADOW_STAT_PREFIX}{route_name}"


def shadow_settings(route_name: str) -> dict[str, Any]:
    """What a route's limiter config changes to count without refusing."""
    return {
        "stat_prefix": stat_prefix(route_name),
        "filter_enabled": {
            "runtime_key": f"gw_shadow_enabled_{route_name}",
            "default_value": {"numerator": 100, "denominator": "HUNDRED"},
        },
        # 0 %: the request goes on; Envoy still counts it as rate_limited.
        "filter_enforced": {
            "runtime_key": f"gw_shadow_enforced_{route_name}",
            "default_value": {"numerator": 0, "denominator": "HUNDRED"},
        },
        "request_headers_to_add_when_not_enforced": [
            {
                "header": {"key": SHADOW_HEADER, "value": route_name},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        ],
    }
