"""Which route takes a request, the way Envoy chooses (the native connector's layout):

1. the listener (the one the URL's port names, else each in turn until a route matches);
2. one virtual host per request: an exact domain, else the longest ``*.suffix``, else the longest
   ``prefix.*``, else ``*`` — never a fallback to another one;
3. inside it, the routes in file order; the first whose match (path, headers, method) fits wins.

Every route not taken gets its reason, so an operator sees why the request went elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import Gateway, HeaderMatch, Listener, Route, RouteMatch, StringMatch
from ..model.hosts import covers
from .request import Request


@dataclass(frozen=True)
class PassedOver:
    """A route the request did not take, and why."""

    route: str
    reason: str


@dataclass(frozen=True)
class Routing:
    """The listener and virtual host chosen, the route taken (None: Envoy answers 404) and the rest."""

    listener: Listener | None
    domain: str | None
    route: Route | None
    match_index: int | None
    passed_over: tuple[PassedOver, ...]


def choose_domain(domains: Sequence[str], host: str) -> str | None:
    """Envoy's virtual host choice: exact, then longest suffix wildcard, then longest prefix
    wildcard, then ``*``."""
    if host in domains:
        return host
    suffixes = [d for d in domains if d.startswith("*") and d != "*" and covers(d, host)]
    if suffixes:
        return max(suffixes, key=len)
    prefixes = [d for d in domains if d.endswith("*") and d != "*" and covers(d, host)]
    if prefixes:
        return max(prefixes, key=len)
    return "*" if "*" in domains else None


def _string_fits(m: StringMatch, value: str) -> bool:
    if m.kind == "exact":
        return value == m.value
    if m.kind == "prefix":
        return value.startswith(m.value)
    try:
        return re.fullmatch(m.value, value) is not None
    except re.error:
        return False


def _header_reason(h: HeaderMatch, request: Request) -> str | None:
    value = request.header(h.name)
    if h.kind == "present":
        fits = value is not None
    else:
        fits = value is not None and _string_fits(StringMatch(h.kind, h.value), value)
    if fits != h.invert:
        return None
    if value is None:
        return f"needs header {h.name}"
    return f"header {h.name}: {value!r} does not fit [{h}]"


def match_reason(m: RouteMatch, request: Request) -> str | None:
    """None when ``request`` fits ``m``, else why not."""
    path = request.path if m.path.kind == "prefix" else request.path_only
    if not _string_fits(m.path, path):
        verb = {"exact": "is not", "prefix": "does not start with", "regex": "does not match"}
        return f"path {request.path_only} {verb[m.path.kind]} {m.path.value}"
    if m.methods and "*" not in m.methods and request.method not in m.methods:
        return f"method {request.method} is not one of {', '.join(m.methods)}"
    for h in m.headers:
        reason = _header_reason(h, request)
        if reason is not None:
            return reason
    return None


def _routes_of(gw: Gateway, listener: Listener | None) -> list[Route]:
    if listener is None:
        return list(gw.routes)
    return [r for r in gw.routes if r.listener is None or r.listener == listener.name]


def route_in(gw: Gateway, listener: Listener | None, request: Request) -> Routing:
    """The routing of ``request`` on one listener."""
    routes = _routes_of(gw, listener)
    domains = list(dict.fromkeys(h for r in routes for h in r.hosts))
    domain = choose_domain(domains, request.host)
    passed: list[PassedOver] = [
        PassedOver(r.name, f"on listener {r.listener}, not {listener.name}")
        for r in gw.routes
        if listener is not None and r not in routes
    ]
    chosen: Route | None = None
    index: int | None = None
    for r in routes:
        if domain is None or not any(h == domain or ("*" in h and covers(h, domain)) for h in r.hosts):
            passed.append(PassedOver(r.name, _host_reason(r, request.host, domain)))
            continue
        reasons = [match_reason(m, request) for m in r.matches]
        if None not in reasons:  # its own reason first: it would not take the request anyway
            passed.append(PassedOver(r.name, "; ".join(dict.fromkeys(x for x in reasons if x))))
        elif chosen is not None:
            passed.append(PassedOver(r.name, f"route {chosen.name} comes first and matches"))
        else:
            chosen, index = r, reasons.index(None)
    return Routing(listener, domain, chosen, index, tuple(passed))


def _host_reason(route: Route, host: str, domain: str | None) -> str:
    hosts = ", ".join(route.hosts)
    if domain is not None and any(covers(h, host) for h in route.hosts):
        return f"host {host} goes to the more specific virtual host {domain} (route hosts: {hosts})"
    return f"host {host} is not one of its hosts ({hosts})"


def find_route(gw: Gateway, request: Request) -> Routing:
    """The routing on the listener the request's port names; without a port, the first listener
    where a route takes it (or the first listener, when none does)."""
    listeners: list[Listener | None] = list(gw.listeners)
    if request.port is not None:
        named = [x for x in gw.listeners if x.port == request.port]
        if named:
            return route_in(gw, named[0], request)
    first: Routing | None = None
    for listener in listeners or [None]:
        routing = route_in(gw, listener, request)
        if routing.route is not None:
            return routing
        first = first or routing
    assert first is not None
    return first
