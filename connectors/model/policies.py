"""A route's policies as plain data: rate limit, CORS, JWT, retries, circuit breaker, header
rewrites and mirror, each read (``*_from``, problems collected by the ``Reader``) beside its writer
(``*_to_dict``, the canonical form without defaults). ``serialize`` puts them into a route; deny
rules and fault injection have their own modules (``deny``, ``fault``).
"""

from __future__ import annotations

from typing import Any, cast

from .durations import format_duration
from .observed import RETRY_KEYS, retry_extras_from, retry_extras_to_dict
from .reader import Reader
from .types import (
    CircuitBreaker,
    Cors,
    HeaderOps,
    HeaderRewrite,
    Jwt,
    JwtProvider,
    Mirror,
    OutlierDetection,
    RateLimit,
    Retries,
    StringMatch,
)

MATCH_KINDS = ("exact", "prefix", "regex")
_LIMITS = ("max_connections", "max_pending_requests", "max_requests", "max_retries")


# ---------------------------------------------------------------- string matches


def string_match_from(r: Reader, kinds: tuple[str, ...] = MATCH_KINDS) -> StringMatch:
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


def string_match_to_dict(m: StringMatch) -> dict[str, Any]:
    return {m.kind: m.value}


# ---------------------------------------------------------------- rate limit


def rate_limit_from(r: Reader) -> RateLimit | None:
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


def rate_limit_to_dict(rl: RateLimit) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": rl.requests, "interval": format_duration(rl.interval)}
    if rl.burst is not None:
        out["burst"] = rl.burst
    if not rl.enabled:
        out["enabled"] = False
    if rl.shadow:
        out["shadow"] = True
    return out


# ---------------------------------------------------------------- CORS


def cors_from(r: Reader) -> Cors | None:
    if not r.is_mapping():
        return None
    r.unknown_keys(
        {"allow_origins", "allow_methods", "allow_headers", "expose_headers", "max_age", "allow_credentials"}
    )
    return Cors(
        allow_origins=tuple(
            string_match_from(x, (*MATCH_KINDS, "wildcard")) for x in r.items("allow_origins")
        ),
        allow_methods=tuple(m.upper() for m in r.str_list("allow_methods")),
        allow_headers=r.str_list("allow_headers"),
        expose_headers=r.str_list("expose_headers"),
        max_age=r.duration("max_age", None),
        allow_credentials=r.bool("allow_credentials", False),
    )


def cors_to_dict(c: Cors) -> dict[str, Any]:
    out: dict[str, Any] = {"allow_origins": [string_match_to_dict(o) for o in c.allow_origins]}
    for key in ("allow_methods", "allow_headers", "expose_headers"):
        if getattr(c, key):
            out[key] = list(getattr(c, key))
    if c.max_age is not None:
        out["max_age"] = format_duration(c.max_age)
    if c.allow_credentials:
        out["allow_credentials"] = True
    return out


# ---------------------------------------------------------------- JWT


def jwt_from(r: Reader) -> Jwt | None:
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


def jwt_to_dict(j: Jwt) -> dict[str, Any]:
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


# ---------------------------------------------------------------- retries


def retries_from(r: Reader, observed: bool = False) -> Retries | None:
    """Retries; ``observed`` also reads what a cluster shows but this tool does not write."""
    if not r.is_mapping():
        return None
    r.unknown_keys({"attempts", "per_try_timeout", "retry_on"} | (RETRY_KEYS if observed else set()))
    return Retries(
        attempts=r.int("attempts", 1, required=True),
        per_try_timeout=r.duration("per_try_timeout", None),
        retry_on=r.str_list("retry_on") if r.has("retry_on") else Retries(1).retry_on,
        **(retry_extras_from(r) if observed else {}),
    )


def retries_to_dict(rt: Retries) -> dict[str, Any]:
    out: dict[str, Any] = {"attempts": rt.attempts}
    if rt.per_try_timeout is not None:
        out["per_try_timeout"] = format_duration(rt.per_try_timeout)
    out["retry_on"] = list(rt.retry_on)
    return out | retry_extras_to_dict(rt)


# ---------------------------------------------------------------- circuit breaker


def circuit_from(r: Reader) -> CircuitBreaker | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({*_LIMITS, "outlier_detection"})
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


def circuit_to_dict(cb: CircuitBreaker) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(cb, k) for k in _LIMITS if getattr(cb, k) is not None}
    if cb.outlier_detection is not None:
        od = cb.outlier_detection
        out["outlier_detection"] = {
            "consecutive_5xx": od.consecutive_5xx,
            "interval": format_duration(od.interval),
            "base_ejection_time": format_duration(od.base_ejection_time),
            "max_ejection_percent": od.max_ejection_percent,
        }
    return out


# ---------------------------------------------------------------- header rewrites


def _header_ops(r: Reader) -> HeaderOps:
    if r.data is None:
        return HeaderOps()
    if not r.is_mapping():
        return HeaderOps()
    r.unknown_keys({"set", "add", "remove"})
    return HeaderOps(set=r.pairs("set"), add=r.pairs("add"), remove=r.str_list("remove"))


def headers_from(r: Reader) -> HeaderRewrite | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({"request", "response"})
    return HeaderRewrite(
        request=_header_ops(r.child("request")) if r.has("request") else HeaderOps(),
        response=_header_ops(r.child("response")) if r.has("response") else HeaderOps(),
    )


def _ops_to_dict(o: HeaderOps) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if o.set:
        out["set"] = dict(o.set)
    if o.add:
        out["add"] = dict(o.add)
    if o.remove:
        out["remove"] = list(o.remove)
    return out


def headers_to_dict(h: HeaderRewrite) -> dict[str, Any]:
    out = {}
    if h.request:
        out["request"] = _ops_to_dict(h.request)
    if h.response:
        out["response"] = _ops_to_dict(h.response)
    return out


# ---------------------------------------------------------------- mirror


def mirror_from(r: Reader) -> Mirror | None:
    if isinstance(r.data, str):
        return Mirror(r.data)
    if not r.is_mapping():
        return None
    r.unknown_keys({"backend", "percent"})
    return Mirror(backend=r.str("backend", "", required=True), percent=r.float("percent", 100.0))


def mirror_to_dict(m: Mirror) -> dict[str, Any]:
    return {"backend": m.backend, "percent": m.percent}
