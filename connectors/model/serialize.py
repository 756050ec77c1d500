"""The model as plain data (the native YAML format, ``-o json`` output, history and audit records).

A gateway, its listeners, backends and routes with their matches; each policy of a route is read
and written in ``policies`` (``deny`` and ``fault`` for those two).

``*_from_dict`` collect every problem with its field path and raise one ValidationError;
``*_to_dict`` write the canonical form, omitting defaults so files stay short.
"""

from __future__ import annotations

from typing import Any, cast

from ..errors import Problem, ValidationError
from .deny import deny_from, deny_to_dict
from .durations import format_duration
from .fault import fault_from, fault_to_dict
from .observed import OBSERVED_KEYS, observed_from, observed_to_dict
from .policies import (
    MATCH_KINDS,
    circuit_from,
    circuit_to_dict,
    cors_from,
    cors_to_dict,
    headers_from,
    headers_to_dict,
    jwt_from,
    jwt_to_dict,
    mirror_from,
    mirror_to_dict,
    rate_limit_from,
    rate_limit_to_dict,
    retries_from,
    retries_to_dict,
    string_match_from,
    string_match_to_dict,
)
from .reader import Reader
from .types import (
    Backend,
    Endpoint,
    Gateway,
    HeaderMatch,
    Listener,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)
from .writer import Part, put_parts

# Route policies are read and written in ``policies``; these names stay importable from here.
__all__ = [
    "MATCH_KINDS",
    "cors_to_dict",
    "gateway_from_dict",
    "gateway_to_dict",
    "rate_limit_to_dict",
    "read_gateway",
    "route_from_dict",
    "route_to_dict",
]


# ---------------------------------------------------------------- reading


def gateway_from_dict(data: Any) -> Gateway:
    gateway, problems = read_gateway(data)
    if problems:
        raise ValidationError(problems)
    return gateway


def read_gateway(data: Any) -> tuple[Gateway, list[Problem]]:
    """The gateway as far as it reads, and the type problems found: a field that does not read
    holds a placeholder, so the rest can still be checked (every problem reported at once)."""
    problems: list[Problem] = []
    r = Reader(data, "", problems)
    if not r.is_mapping():
        raise ValidationError(problems)
    r.unknown_keys({"name", "listeners", "backends", "routes", "access_log"})
    gateway = Gateway(
        name=r.str("name", "gateway"),
        listeners=tuple(_listener(x) for x in r.items("listeners")),
        backends=tuple(_backend(x) for x in r.items("backends")),
        routes=tuple(_route(x) for x in r.items("routes")),
        access_log=r.bool("access_log", True),
    )
    return gateway, problems


def route_from_dict(data: Any, path: str = "route") -> Route:
    problems: list[Problem] = []
    route = _route(Reader(data, path, problems), observed=True)
    if problems:
        raise ValidationError(problems)
    return route


def _listener(r: Reader) -> Listener:
    if not r.is_mapping():
        return Listener("?", 0)
    r.unknown_keys({"name", "port", "address"})
    return Listener(
        name=r.str("name", "?", required=True),
        port=r.int("port", 0, required=True),
        address=r.str("address", "127.0.0.1"),
    )


def _backend(r: Reader) -> Backend:
    if not r.is_mapping():
        return Backend("?")
    r.unknown_keys({"name", "endpoints", "connect_timeout"})
    endpoints = []
    for i, text in enumerate(r.str_list("endpoints")):
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit():
            r.problems.append(Problem(f"{r.at('endpoints')}[{i}]", f"expected host:port, got {text!r}"))
            continue
        endpoints.append(Endpoint(host.strip("[]"), int(port)))
    return Backend(
        name=r.str("name", "?", required=True),
        endpoints=tuple(endpoints),
        connect_timeout=r.duration("connect_timeout", 1.0),
    )


def _match(r: Reader) -> RouteMatch:
    if not r.is_mapping():
        return RouteMatch()
    r.unknown_keys({"exact", "prefix", "regex", "path", "headers", "methods"})
    if r.has("path"):
        path = string_match_from(r.child("path"))
    else:
        present = [k for k in MATCH_KINDS if r.has(k)]
        if len(present) > 1:
            r.problem(None, "give only one of exact, prefix or regex for the path")
        path = (
            StringMatch(cast(Any, present[0]), r.str(present[0], "/"))
            if present
            else StringMatch("prefix", "/")
        )
    headers = []
    for h in r.items("headers"):
        if not h.is_mapping():
            continue
        h.unknown_keys({"name", "exact", "prefix", "regex", "present", "invert"})
        kinds = [k for k in ("exact", "prefix", "regex") if h.has(k)]
        if h.bool("present", False):
            kinds.append("present")
        if len(kinds) > 1:
            h.problem(None, "give only one of exact, prefix, regex or present")
        kind = kinds[0] if kinds else "present"
        headers.append(
            HeaderMatch(
                name=h.str("name", "", required=True),
                kind=cast(Any, kind),
                value=h.str(kind, "") if kind != "present" else "",
                invert=h.bool("invert", False),
            )
        )
    return RouteMatch(
        path=path, headers=tuple(headers), methods=tuple(m.upper() for m in r.str_list("methods"))
    )


def _weighted(r: Reader) -> WeightedBackend:
    if isinstance(r.data, str):
        return WeightedBackend(r.data, 100)
    if not r.is_mapping():
        return WeightedBackend("?", 0)
    r.unknown_keys({"name", "weight"})
    return WeightedBackend(name=r.str("name", "?", required=True), weight=r.int("weight", 1))


_ROUTE_KEYS = {
    "name",
    "listener",
    "hosts",
    "match",
    "matches",
    "backends",
    "weight_mode",
    "rate_limit",
    "cors",
    "jwt",
    "timeout",
    "retries",
    "circuit_breaker",
    "mirror",
    "headers",
    "deny",
    "fault",
}


def _route(r: Reader, observed: bool = False) -> Route:
    """A route; ``observed`` also reads what a cluster shows but this tool does not write (history
    records), which a native gateway file may not give."""
    if not r.is_mapping():
        return Route("?", ())
    r.unknown_keys(_ROUTE_KEYS | (OBSERVED_KEYS if observed else set()))
    if r.has("match") and r.has("matches"):
        r.problem("matches", "give either match or matches, not both")
    if r.has("matches"):
        matches = tuple(_match(x) for x in r.items("matches"))
    elif r.has("match"):
        matches = (_match(r.child("match")),)
    else:
        matches = (RouteMatch(),)
    mode = r.str("weight_mode", "percent")
    if mode not in ("percent", "relative"):
        r.problem("weight_mode", f"must be percent or relative, got {mode!r}")
        mode = "percent"
    opt = r.has
    return Route(
        name=r.str("name", "?", required=True),
        listener=r.str("listener", None),
        hosts=r.str_list("hosts") or ("*",),
        matches=matches,
        backends=tuple(_weighted(x) for x in r.items("backends")),
        weight_mode=mode,
        rate_limit=rate_limit_from(r.child("rate_limit")) if opt("rate_limit") else None,
        cors=cors_from(r.child("cors")) if opt("cors") else None,
        jwt=jwt_from(r.child("jwt")) if opt("jwt") else None,
        timeout=r.duration("timeout", None),
        retries=retries_from(r.child("retries"), observed) if opt("retries") else None,
        circuit_breaker=circuit_from(r.child("circuit_breaker")) if opt("circuit_breaker") else None,
        mirror=mirror_from(r.child("mirror")) if opt("mirror") else None,
        headers=headers_from(r.child("headers")) if opt("headers") else None,
        **(observed_from(r) if observed else {}),
        deny=deny_from(r.child("deny")) if opt("deny") else None,
        fault=fault_from(r.child("fault")) if opt("fault") else None,
    )


# ---------------------------------------------------------------- writing


def _match_to_dict(m: RouteMatch) -> dict[str, Any]:
    out: dict[str, Any] = string_match_to_dict(m.path)
    if m.headers:
        hs = []
        for h in m.headers:
            d: dict[str, Any] = {"name": h.name}
            if h.kind == "present":
                d["present"] = True
            else:
                d[h.kind] = h.value
            if h.invert:
                d["invert"] = True
            hs.append(d)
        out["headers"] = hs
    if m.methods:
        out["methods"] = list(m.methods)
    return out


_ROUTE_PARTS: tuple[Part, ...] = (
    ("rate_limit", rate_limit_to_dict),
    ("cors", cors_to_dict),
    ("jwt", jwt_to_dict),
    ("timeout", format_duration),
    ("retries", retries_to_dict),
    ("circuit_breaker", circuit_to_dict),
    ("mirror", mirror_to_dict),
    ("headers", headers_to_dict),
    ("deny", deny_to_dict),
    ("fault", fault_to_dict),
)
"""A route's policies, written in this order when set."""


def route_to_dict(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {"name": route.name}
    if route.listener:
        out["listener"] = route.listener
    out["hosts"] = list(route.hosts)
    if len(route.matches) == 1:
        out["match"] = _match_to_dict(route.matches[0])
    else:
        out["matches"] = [_match_to_dict(m) for m in route.matches]
    out["backends"] = [{"name": b.name, "weight": b.weight} for b in route.backends]
    if route.weight_mode != "percent":
        out["weight_mode"] = route.weight_mode
    return put_parts(out, route, _ROUTE_PARTS) | observed_to_dict(route)


def gateway_to_dict(gw: Gateway) -> dict[str, Any]:
    out: dict[str, Any] = {"name": gw.name}
    out["listeners"] = [{"name": x.name, "address": x.address, "port": x.port} for x in gw.listeners]
    out["backends"] = []
    for b in gw.backends:
        bd: dict[str, Any] = {"name": b.name, "endpoints": [str(e) for e in b.endpoints]}
        if b.connect_timeout != 1.0:
            bd["connect_timeout"] = format_duration(b.connect_timeout)
        out["backends"].append(bd)
    out["routes"] = [route_to_dict(r) for r in gw.routes]
    if not gw.access_log:
        out["access_log"] = False
    return out
