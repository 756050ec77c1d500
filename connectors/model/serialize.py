"""The model as plain data (the native YAML format, ``-o json`` output, history and audit records).

``*_from_dict`` collect every problem with its field path and raise one ValidationError;
``*_to_dict`` write the canonical form, omitting defaults so files stay short.
"""

from __future__ import annotations

from typing import Any, cast

from ..errors import Problem, ValidationError
from .deny import deny_from, deny_to_dict
from .durations import format_duration
from .fault import fault_from, fault_to_dict
from .observed import (
    OBSERVED_KEYS,
    RETRY_KEYS,
    observed_from,
    observed_to_dict,
    retry_extras_from,
    retry_extras_to_dict,
)
from .reader import Reader
from .types import (
    Backend,
    CircuitBreaker,
    Cors,
    Endpoint,
    Gateway,
    HeaderMatch,
    HeaderOps,
    HeaderRewrite,
    Jwt,
    JwtProvider,
    Listener,
    Mirror,
    OutlierDetection,
    RateLimit,
    Retries,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)

MATCH_KINDS = ("exact", "prefix", "regex")


# ---------------------------------------------------------------- reading


def gateway_from_dict(data: Any) -> Gateway:
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
    if problems:
        raise ValidationError(problems)
    return gateway


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


def _string_match(r: Reader, kinds: tuple[str, ...] = MATCH_KINDS) -> StringMatch:
    """``{exact: x}`` / ``{prefix: x}`` / ``{regex: x}``; a bare string means exact."""
    if isinstance(r.data, str):
        return StringMatch("exact", r.data)
    if not r.is_mapping():
        return StringMatch("exact", "")
    present = [k for k in kinds if r.has(k)]
    r.unknown_keys(set(kinds))
    if len(present) != 1:
        r.problem(None, f"needs exactly one of {', '.join(kinds)}")
        return StringMatch("exact", "")
    kind = present[0]
    return StringMatch(cast(Any, kind), r.str(kind, ""))


def _match(r: Reader) -> RouteMatch:
    if not r.is_mapping():
        return RouteMatch()
    r.unknown_keys({"exact", "prefix", "regex", "path", "headers", "methods"})
    if r.has("path"):
        path = _string_match(r.child("path"))
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


def _rate_limit(r: Reader) -> RateLimit | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({"requests", "interval", "per", "burst", "enabled", "shadow"})
    interval = r.duration("per", None) if r.has("per") else r.duration("interval", 1.0)
    return RateLimit(
        requests=r.int("requests", 0, required=True),
        interval=interval,
        burst=r.int("burst", None),
        enabled=r.bool("enabled", True),
        shadow=r.bool("shadow", False),
    )


def _cors(r: Reader) -> Cors | None:
    if not r.is_mapping():
        return None
    r.unknown_keys(
        {"allow_origins", "allow_methods", "allow_headers", "expose_headers", "max_age", "allow_credentials"}
    )
    return Cors(
        allow_origins=tuple(_string_match(x, (*MATCH_KINDS, "wildcard")) for x in r.items("allow_origins")),
        allow_methods=tuple(m.upper() for m in r.str_list("allow_methods")),
        allow_headers=r.str_list("allow_headers"),
        expose_headers=r.str_list("expose_headers"),
        max_age=r.duration("max_age", None),
        allow_credentials=r.bool("allow_credentials", False),
    )


def _jwt(r: Reader) -> Jwt | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({"providers", "required"})
    providers = []
    for p in r.items("providers"):
        if not p.is_mapping():
            continue
        p.unknown_keys({"name", "issuer", "audiences", "jwks_uri", "jwks", "from_headers", "forward"})
        providers.append(
            JwtProvider(
                name=p.str("name", "?", required=True),
                issuer=p.str("issuer", "", required=True),
                audiences=p.str_list("audiences"),
                jwks_uri=p.str("jwks_uri", None),
                jwks_inline=p.str("jwks", None),
                from_headers=p.str_list("from_headers"),
                forward=p.bool("forward", False),
            )
        )
    return Jwt(providers=tuple(providers), required=r.bool("required", True))


def _retries(r: Reader, observed: bool = False) -> Retries | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({"attempts", "per_try_timeout", "retry_on"} | (RETRY_KEYS if observed else set()))
    return Retries(
        attempts=r.int("attempts", 1, required=True),
        per_try_timeout=r.duration("per_try_timeout", None),
        retry_on=r.str_list("retry_on") if r.has("retry_on") else Retries(1).retry_on,
        **(retry_extras_from(r) if observed else {}),
    )


def _circuit(r: Reader) -> CircuitBreaker | None:
    if not r.is_mapping():
        return None
    r.unknown_keys(
        {"max_connections", "max_pending_requests", "max_requests", "max_retries", "outlier_detection"}
    )
    outlier = None
    if r.has("outlier_detection"):
        o = r.child("outlier_detection")
        if o.is_mapping():
            o.unknown_keys({"consecutive_5xx", "interval", "base_ejection_time", "max_ejection_percent"})
            d = OutlierDetection()
            outlier = OutlierDetection(
                consecutive_5xx=o.int("consecutive_5xx", d.consecutive_5xx),
                interval=o.duration("interval", d.interval),
                base_ejection_time=o.duration("base_ejection_time", d.base_ejection_time),
                max_ejection_percent=o.int("max_ejection_percent", d.max_ejection_percent),
            )
    return CircuitBreaker(
        max_connections=r.int("max_connections"),
        max_pending_requests=r.int("max_pending_requests"),
        max_requests=r.int("max_requests"),
        max_retries=r.int("max_retries"),
        outlier_detection=outlier,
    )


def _header_ops(r: Reader) -> HeaderOps:
    if r.data is None:
        return HeaderOps()
    if not r.is_mapping():
        return HeaderOps()
    r.unknown_keys({"set", "add", "remove"})
    return HeaderOps(set=r.pairs("set"), add=r.pairs("add"), remove=r.str_list("remove"))


def _headers(r: Reader) -> HeaderRewrite | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({"request", "response"})
    return HeaderRewrite(
        request=_header_ops(r.child("request")) if r.has("request") else HeaderOps(),
        response=_header_ops(r.child("response")) if r.has("response") else HeaderOps(),
    )


def _mirror(r: Reader) -> Mirror | None:
    if isinstance(r.data, str):
        return Mirror(r.data)
    if not r.is_mapping():
        return None
    r.unknown_keys({"backend", "percent"})
    return Mirror(backend=r.str("backend", "", required=True), percent=r.float("percent", 100.0))


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
        rate_limit=_rate_limit(r.child("rate_limit")) if opt("rate_limit") else None,
        cors=_cors(r.child("cors")) if opt("cors") else None,
        jwt=_jwt(r.child("jwt")) if opt("jwt") else None,
        timeout=r.duration("timeout", None),
        retries=_retries(r.child("retries"), observed) if opt("retries") else None,
        circuit_breaker=_circuit(r.child("circuit_breaker")) if opt("circuit_breaker") else None,
        mirror=_mirror(r.child("mirror")) if opt("mirror") else None,
        headers=_headers(r.child("headers")) if opt("headers") else None,
        **(observed_from(r) if observed else {}),
        deny=deny_from(r.child("deny")) if opt("deny") else None,
        fault=fault_from(r.child("fault")) if opt("fault") else None,
    )


# ---------------------------------------------------------------- writing


def _sm(m: StringMatch) -> dict[str, Any]:
    return {m.kind: m.value}


def _match_to_dict(m: RouteMatch) -> dict[str, Any]:
    out: dict[str, Any] = _sm(m.path)
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


def rate_limit_to_dict(rl: RateLimit) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": rl.requests, "interval": format_duration(rl.interval)}
    if rl.burst is not None:
        out["burst"] = rl.burst
    if not rl.enabled:
        out["enabled"] = False
    if rl.shadow:
        out["shadow"] = True
    return out


def cors_to_dict(c: Cors) -> dict[str, Any]:
    out: dict[str, Any] = {"allow_origins": [_sm(o) for o in c.allow_origins]}
    for key in ("allow_methods", "allow_headers", "expose_headers"):
        if getattr(c, key):
            out[key] = list(getattr(c, key))
    if c.max_age is not None:
        out["max_age"] = format_duration(c.max_age)
    if c.allow_credentials:
        out["allow_credentials"] = True
    return out


def _jwt_to_dict(j: Jwt) -> dict[str, Any]:
    providers = []
    for p in j.providers:
        d: dict[str, Any] = {"name": p.name, "issuer": p.issuer}
        if p.audiences:
            d["audiences"] = list(p.audiences)
        if p.jwks_uri:
            d["jwks_uri"] = p.jwks_uri
        if p.jwks_inline:
            d["jwks"] = p.jwks_inline
        if p.from_headers:
            d["from_headers"] = list(p.from_headers)
        if p.forward:
            d["forward"] = True
        providers.append(d)
    out: dict[str, Any] = {"providers": providers}
    if not j.required:
        out["required"] = False
    return out


def _ops(o: HeaderOps) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if o.set:
        out["set"] = dict(o.set)
    if o.add:
        out["add"] = dict(o.add)
    if o.remove:
        out["remove"] = list(o.remove)
    return out


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
    if route.rate_limit is not None:
        out["rate_limit"] = rate_limit_to_dict(route.rate_limit)
    if route.cors is not None:
        out["cors"] = cors_to_dict(route.cors)
    if route.jwt is not None:
        out["jwt"] = _jwt_to_dict(route.jwt)
    if route.timeout is not None:
        out["timeout"] = format_duration(route.timeout)
    if route.retries is not None:
        rt = route.retries
        rd: dict[str, Any] = {"attempts": rt.attempts}
        if rt.per_try_timeout is not None:
            rd["per_try_timeout"] = format_duration(rt.per_try_timeout)
        rd["retry_on"] = list(rt.retry_on)
        out["retries"] = rd | retry_extras_to_dict(rt)
    if route.circuit_breaker is not None:
        cb = route.circuit_breaker
        cd: dict[str, Any] = {
            k: getattr(cb, k)
            for k in ("max_connections", "max_pending_requests", "max_requests", "max_retries")
            if getattr(cb, k) is not None
        }
        if cb.outlier_detection is not None:
            od = cb.outlier_detection
            cd["outlier_detection"] = {
                "consecutive_5xx": od.consecutive_5xx,
                "interval": format_duration(od.interval),
                "base_ejection_time": format_duration(od.base_ejection_time),
                "max_ejection_percent": od.max_ejection_percent,
            }
        out["circuit_breaker"] = cd
    if route.mirror is not None:
        out["mirror"] = {"backend": route.mirror.backend, "percent": route.mirror.percent}
    if route.headers:
        hd = {}
        if route.headers.request:
            hd["request"] = _ops(route.headers.request)
        if route.headers.response:
            hd["response"] = _ops(route.headers.response)
        out["headers"] = hd
    if route.deny is not None:
        out["deny"] = deny_to_dict(route.deny)
    if route.fault is not None:
        out["fault"] = fault_to_dict(route.fault)
    return out | observed_to_dict(route)


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
