"""Shadowed rate limits of a Kubernetes gateway: each shadow limit counts under its own stat prefix
(``gw_shadow_<route>``, see ``istio.write.write_limit``), read from the gateway pods' Envoys through
``pods/proxy`` (``/stats``) and summed over the pods.

Istio creates ``http_local_rate_limit`` stats only where the proxy's stats matcher includes them
(``proxyStatsMatcher.inclusionRegexps: [".*http_local_rate_limit.*"]``); without them the counters
read 0 and the limit says so. The would-be limited clients are not known here (the proxies' access
log does not mark would-be refusals).
"""

from __future__ import annotations

import re
import urllib.parse

from ..errors import GatewayError, PermissionDenied
from ..metrics_contract import SHADOW_STAT_PREFIX
from ..shadow import ShadowLimit
from .health import admin_url, gateway_pods
from .proxies import ProxiedConnector

NO_STATS = (
    "the gateway pods report no counters for it: Istio proxies keep http_local_rate_limit stats only "
    'with proxyStatsMatcher inclusionRegexps [".*http_local_rate_limit.*"] (meshConfig or the '
    "proxy.istio.io/config annotation)"
)


def read_shadow(conn: ProxiedConnector, routes: list[str]) -> list[ShadowLimit]:
    admin = conn.proxy_admin()
    if not routes or admin is None:
        return []
    pods_of, _ = gateway_pods(conn, routes, admin[0])
    names = "|".join(re.escape(r) for r in routes)
    regex = rf"^{SHADOW_STAT_PREFIX}({names})\.http_local_rate_limit\.(enabled|rate_limited|enforced)$"
    query = urllib.parse.urlencode({"format": "json", "filter": regex})
    counts: dict[str, int] = {}
    for pod in dict.fromkeys(p for pods in pods_of.values() for p in pods):
        try:
            stats = conn.client.raw("GET", admin_url(pod, f"stats?{query}"), verb="get")
        except PermissionDenied as exc:
            raise PermissionDenied(
                f"cannot ask the gateway pods ({exc}; reading needs get on pods/proxy)"
            ) from exc
        except GatewayError:
            continue
        for s in stats.get("stats", []):
            if "name" in s:
                counts[str(s["name"])] = counts.get(str(s["name"]), 0) + int(s.get("value") or 0)
    out = []
    for route in routes:
        model = conn.get_route(route)
        assert model.rate_limit is not None

        def counter(name: str, route: str = route) -> int:
            return counts.get(f"{SHADOW_STAT_PREFIX}{route}.http_local_rate_limit.{name}", 0)

        seen = any(k.startswith(f"{SHADOW_STAT_PREFIX}{route}.") for k in counts)
        note = "" if seen else (NO_STATS if pods_of.get(route) else "no gateway pods to ask")
        out.append(
            ShadowLimit(
                route=route,
                limit=model.rate_limit,
                requests=counter("enabled"),
                would_refuse=counter("rate_limited"),
                enforced=counter("enforced"),
                note=note,
            )
        )
    return out
