"""Deny rules natively: Envoy's RBAC filter in the listener (only while a route of it denies
someone, like the CORS filter), inert there; each denying route carries its own DENY policy in its
``typed_per_filter_config`` (RDS), so adding or lifting a client on a route rewrites its routes
file alone once the filter is in place. Envoy answers a denied request itself: 403
``RBAC: access denied`` (the RBAC filter has no other status, so the native connector accepts 403
only). ``direct_remote_ip`` is the connection's own address, never a header a client can forge.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from ..errors import Problem
from ..model import DenyClient, Route
from .names import RBAC_FILTER

RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
RBAC_PER_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute"
POLICY = "gatewayctl-deny"
NATIVE_STATUS = 403


def has_deny(routes: Sequence[Route]) -> bool:
    return any(r.deny is not None and r.deny.clients for r in routes)


def deny_filter() -> dict[str, Any]:
    """The listener's RBAC filter: no rules of its own (allows everything) until a route's apply."""
    return {"name": RBAC_FILTER, "typed_config": {"@type": RBAC_TYPE}}


def principals(route: Route) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in route.deny.clients if route.deny else ():
        if c.kind == "ip":
            net = ipaddress.ip_network(c.value, strict=False)
            prefix = {"address_prefix": str(net.network_address), "prefix_len": net.prefixlen}
            out.append({"direct_remote_ip": prefix})
        else:
            out.append({"header": {"name": c.name, "string_match": {"exact": c.value}}})
    return out


def per_route(route: Route) -> dict[str, Any] | None:
    """The route's DENY policy (RBACPerRoute), or None when it denies nobody."""
    found = principals(route)
    if not found:
        return None
    policy = {"permissions": [{"any": True}], "principals": found}
    return {"@type": RBAC_PER_ROUTE_TYPE, "rbac": {"rules": {"action": "DENY", "policies": {POLICY: policy}}}}


def spelled(client: DenyClient) -> str:
    """``client`` as ``denied`` reads it back (an address is written as its network)."""
    if client.kind == "ip":
        return f"ip={ipaddress.ip_network(client.value, strict=False)}"
    return str(client)


def denied(entry: dict[str, Any]) -> list[str]:
    """The clients a served route entry denies (``x-user-id=crawler-7``, ``ip=203.0.113.0/24``)."""
    config = entry.get("typed_per_filter_config", {}).get(RBAC_FILTER, {})
    policy = config.get("rbac", {}).get("rules", {}).get("policies", {}).get(POLICY, {})
    out = []
    for p in policy.get("principals", []):
        if "direct_remote_ip" in p:
            ip = p["direct_remote_ip"]
            out.append(f"ip={ip.get('address_prefix')}/{int(ip.get('prefix_len', 0))}")
        elif "header" in p:
            h = p["header"]
            out.append(f"{h.get('name')}={h.get('string_match', {}).get('exact')}")
    return sorted(out)


def status_problems(route: Route, index: int) -> list[Problem]:
    """The native gateway denies with 403 only."""
    if route.deny is None or route.deny.status == NATIVE_STATUS:
        return []
    why = f"the native gateway denies with {NATIVE_STATUS} (Envoy's RBAC filter), not {route.deny.status}"
    return [Problem(f"routes[{index}].deny.status", why)]
