"""Verifying a change: Envoy serves what the plan wrote, and its traffic flows.

Two checks, both against the running Envoy:

1. what it serves (``/config_dump``): every field a route's change can touch, compared one by one
   with what the plan wrote (weights, every CORS field, whether the route's rate limiter is on, its
   bucket and whether it only counts, deny rules, the fault; see ``served``);
2. that it answers: each listener the change touches accepts a connection and serves the routes
   version (its probe virtual host), and each changed route answers a real request to its host and
   path (up to ``MAX_ROUTE_REQUESTS``; any answer but Envoy's "no route" 404 counts: a 401 from the
   JWT filter means the route matched). A drained or dead listener fails.

A route request is a real request: it shows in the route's metrics (marked ``x-gatewayctl-verify``).
Rate-limited routes get none (it would take a token from their bucket), nor routes injecting a
fault (a request could be delayed past the timeout, or aborted with any status): their listener's
probe and the config read back from Envoy stand for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ..base import Verification
from ..errors import GatewayError
from ..http_client import http_client
from ..model import Gateway, Route
from .admin import AdminClient
from .render_deny import spelled
from .served import NO_LIMITER, describe, envoy_views, route_view

MAX_ROUTE_REQUESTS = 10
VERIFY_HEADER = "x-gatewayctl-verify"
FIELDS = (
    ("weights", "weights"),
    ("cors", "CORS"),
    ("rate_limit", "rate limit"),
    ("deny", "deny"),
    ("fault", "fault"),
)


@dataclass(frozen=True)
class Traffic:
    """Where the listeners are (name -> host:port) and how to ask one for its routes version."""

    listeners: dict[str, str]
    probe: Callable[[str], str | None]  # listener name -> version it answers, None when it does not
    client: httpx.Client | None = None  # kept open between changes (a new client costs ~10 ms)


def _config_details(
    wanted: dict[str, Route], names: Sequence[str], served: dict[str, Any]
) -> tuple[bool, list[str]]:
    ok, details = True, []
    for name in names:
        route, got = wanted.get(name), served.get(name)
        if route is None:
            ok = ok and got is None
            details.append(
                f"{name}: still served after its removal" if got is not None else f"{name}: removed"
            )
            continue
        if got is None:
            ok = False
            details.append(f"{name}: not in Envoy's active routes")
            continue
        want = route_view(route)
        wrong = [
            _mismatch(name, key, label, want[key], got[key]) for key, label in FIELDS if want[key] != got[key]
        ]
        ok = ok and not wrong
        details += wrong or [f"{name}: {part}" for part in _summary(route)]
    return ok, details


def _mismatch(name: str, key: str, label: str, want: Any, got: Any) -> str:
    """One line saying how Envoy serves a field of the route otherwise than the plan wrote it."""
    if key == "rate_limit":
        if want is None:
            return f"{name}: still rate limited (Envoy serves {describe(key, got)}, expected none)"
        if got is None or got == NO_LIMITER:
            why = "its route does not turn it on" if got is None else "Envoy has no config for its limiter"
            return f"{name}: rate limit not in effect ({why}), expected {describe(key, want)}"
        if {**got, "shadow": want["shadow"]} == want:
            what = "shadow (counting only)" if got["shadow"] else "enforced"
            other = "enforced" if got["shadow"] else "shadow (counting only)"
            return f"{name}: Envoy's rate limit is {what}, expected {other}"
    if key == "fault":
        shown = describe(key, got) if got else "no fault"
        return f"{name}: Envoy injects {shown}, expected {describe(key, want)}"
    return f"{name}: Envoy serves {label} {describe(key, got)}, expected {describe(key, want)}"


def _summary(route: Route) -> list[str]:
    """What was verified of the route, one part a line (as ``name: part``)."""
    parts = ["weights " + ", ".join(f"{b.name} {b.weight}" for b in route.backends)]
    if route.cors is not None:
        parts.append("CORS " + ", ".join(str(o) for o in route.cors.allow_origins))
    if route.rate_limit is not None:
        parts.append(f"rate limit {route.rate_limit.describe()}")
    if route.deny is not None and route.deny.clients:
        parts.append("denies " + ", ".join(sorted(spelled(c) for c in route.deny.clients)))
    if route.fault is not None:
        parts.append(f"fault {route.fault.describe()}")
    return parts


def _url(address: str) -> str:
    host, _, port = address.rpartition(":")
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}.get(host, host)
    return f"http://{host}:{port}"


def request_for(route: Route, address: str) -> tuple[str, str, str, dict[str, str]] | None:
    """(method, URL, Host, headers) of a request the route matches, or None when its match cannot
    be written as one request (a regex path, an inverted or regex header)."""
    match = route.matches[0] if route.matches else None
    if match is None or match.path.kind == "regex":
        return None
    headers = {VERIFY_HEADER: "1", "user-agent": "gatewayctl-verify"}
    for h in match.headers:
        if h.invert or h.kind == "regex":
            return None
        headers[h.name] = h.value if h.kind in ("exact", "prefix") else "1"
    methods = [m for m in match.methods if m != "*"]
    method = "GET" if not methods or "GET" in methods else methods[0]
    host = next((h for h in route.hosts if "*" not in h), None)
    if host is None:
        pattern = route.hosts[0] if route.hosts else "*"
        host = address if pattern == "*" else pattern.replace("*", "verify")
    return method, _url(address) + match.path.value, host, headers


def _traffic_details(new: Gateway, wanted: dict[str, Route], traffic: Traffic) -> tuple[bool, list[str]]:
    ok, details = True, []
    touched = {r.listener for r in wanted.values()}
    listeners = [x for x in new.listeners if None in touched or x.name in touched]
    refused: set[str] = set()
    for lst in listeners:
        address = traffic.listeners.get(lst.name, f"{lst.address}:{lst.port}")
        if traffic.probe(lst.name) is None:
            ok = False
            refused.add(lst.name)
            details.append(f"listener {lst.name} ({address}) does not answer: drained, stopped or not bound")
    with contextlib.ExitStack() as stack:
        client = traffic.client or stack.enter_context(http_client(timeout=2.0))
        for route in list(wanted.values())[:MAX_ROUTE_REQUESTS]:
            names = [route.listener] if route.listener else [x.name for x in listeners]
            name = next((n for n in names if n not in refused), None)
            if name is None:
                continue
            address = traffic.listeners.get(name, "")
            if (route.rate_limit is not None and route.rate_limit.enabled) or route.fault is not None:
                continue  # a token taken from the bucket just sized; a delay or abort on purpose
            request = request_for(route, address) if address else None
            if request is None:
                continue
            method, url, host, headers = request
            try:
                response = client.request(method, url, headers={**headers, "host": host})
            except httpx.HTTPError as exc:
                ok = False
                details.append(f"{route.name}: no answer through listener {name} ({type(exc).__name__})")
                continue
            if response.status_code == 404 and "x-envoy-upstream-service-time" not in response.headers:
                ok = False
                details.append(f"{route.name}: Envoy has no route for {host}{url.split(address, 1)[-1]}")
            else:
                details.append(f"{route.name}: answers {response.status_code} at {host}")
    return ok, details


def check(
    admin: AdminClient, new: Gateway, names: Sequence[str], traffic: Traffic | None = None
) -> Verification:
    """Whether Envoy serves ``new``'s routes ``names`` as written and, with ``traffic``, whether the
    listeners accept connections and the routes answer."""
    wanted = {r.name: r for r in new.routes if r.name in set(names)}
    try:
        # Only the routes of interest; Envoy's limiters (ECDS) only when one of them has its on.
        served = envoy_views(admin, [x.name for x in new.listeners], names=set(names))
    except GatewayError as exc:
        return Verification(False, (f"cannot read Envoy's config back: {exc}",))
    ok, details = _config_details(wanted, names, served)
    if traffic is not None and wanted:
        flows, more = _traffic_details(new, wanted, traffic)
        ok, details = ok and flows, details + more
    return Verification(ok, tuple(details))
