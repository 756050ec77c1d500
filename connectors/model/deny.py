"""Deny rules of a route: which clients are refused, read from and written to the model's plain
data, checked, and parsed from the command line's ``x-user-id=crawler-7`` / ``ip=203.0.113.0/24``.

    deny:
      status: 403
      clients:
        - {header: x-user-id, value: crawler-7}
        - {ip: 203.0.113.0/24}
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ..errors import Problem, ValidationError
from .reader import Reader
from .types import Deny, DenyClient

_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_CLIENTS = 100
DENY_STATUSES = (403,)
"""The statuses a deny can answer with on every gateway this tool writes: Envoy's RBAC filter
(native), Istio's AuthorizationPolicy and Envoy Gateway's authorization all refuse with 403 only."""


def status_problem(status: int) -> str | None:
    """Why a deny cannot answer with ``status``, or None (one sentence naming the allowed set)."""
    if status in DENY_STATUSES:
        return None
    allowed = ", ".join(map(str, DENY_STATUSES))
    return (
        f"{status} is not a status a deny can answer with; allowed: {allowed} (Envoy's RBAC filter, "
        "Istio's and Envoy Gateway's authorization refuse with 403 only)"
    )


def client_problem(c: DenyClient) -> str | None:
    """Why ``c`` cannot be a deny rule, or None."""
    if c.kind == "ip":
        try:
            net = ipaddress.ip_network(c.value, strict=True)
        except ValueError as exc:
            return f"{c.value!r} is not an IP address or CIDR block ({exc})"
        if net.prefixlen == 0:
            return f"{c.value!r} denies every address; remove the route or its backends instead"
        return None
    if not _HEADER.match(c.name) or c.name.startswith(":"):
        return f"{c.name!r} is not a valid header name"
    if not c.value or any(ch in c.value for ch in "\r\n\0"):
        return f"header {c.name}: the value must be non-empty, on one line"
    return None


def deny_problems(deny: Deny, path: str) -> list[Problem]:
    out = []
    if not deny.clients:
        out.append(Problem(f"{path}.clients", "name at least one client to deny"))
    if len(deny.clients) > MAX_CLIENTS:
        out.append(Problem(f"{path}.clients", f"at most {MAX_CLIENTS} clients per route"))
    for i, c in enumerate(deny.clients):
        reason = client_problem(c)
        if reason:
            out.append(Problem(f"{path}.clients[{i}]", reason))
    if not 400 <= deny.status <= 599:
        out.append(Problem(f"{path}.status", f"must be an HTTP error status (400-599), got {deny.status}"))
    return out


def parse_client(text: str) -> DenyClient:
    """``ip=CIDR`` or ``HEADER=VALUE`` (a bare address is a /32 or /128); ValidationError otherwise."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise ValidationError([Problem("client", f"expected HEADER=VALUE or ip=CIDR, got {text!r}")])
    client = DenyClient("ip", value) if name.lower() == "ip" else DenyClient("header", value, name.lower())
    reason = client_problem(client)
    if reason:
        raise ValidationError([Problem("client", reason)])
    if client.kind == "ip":  # one spelling: 203.0.113.7 is 203.0.113.7/32
        client = DenyClient("ip", str(ipaddress.ip_network(value)))
    return client


def deny_from(r: Reader) -> Deny | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({"clients", "status"})
    clients = []
    for c in r.items("clients"):
        if not c.is_mapping():
            continue
        c.unknown_keys({"header", "value", "ip"})
        if c.has("ip"):
            clients.append(DenyClient("ip", c.str("ip", "")))
        else:
            clients.append(
                DenyClient("header", c.str("value", "", required=True), c.str("header", "", required=True))
            )
    return Deny(clients=tuple(clients), status=r.int("status", 403))


def deny_to_dict(d: Deny) -> dict[str, Any]:
    clients: list[dict[str, str]] = [
        {"ip": c.value} if c.kind == "ip" else {"header": c.name, "value": c.value} for c in d.clients
    ]
    out: dict[str, Any] = {"clients": clients}
    if d.status != 403:
        out["status"] = d.status
    return out
