"""Limits Envoy's protos put on a route's numbers, durations, header names and values, CORS
credentials and JWKS URLs: what Envoy would refuse (or silently mis-read) is refused here with the
field named, before any file is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from ..errors import Problem
from .regex import full_match
from .types import Cors, Route, StringMatch

UINT32_MAX = 2**32 - 1
# google.protobuf.Duration: at most 315,576,000,000 s (10,000 years).
MAX_DURATION = 315_576_000_000.0
# Envoy's JSON durations are written with millisecond precision (``envoy_duration``).
MIN_DURATION = 0.001
# RFC 9110 field values: no CR, LF or NUL (Envoy's HTTP_HEADER_VALUE rule), no other controls but tab.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Origins an attacker could use: a credentialed CORS policy must not allow any of them.
_ATTACKER_ORIGINS = ("https://attacker.invalid", "http://attacker.invalid", "null")


def uint32_problem(value: int | None) -> str | None:
    if value is not None and value > UINT32_MAX:
        return f"must be at most {UINT32_MAX:,} (Envoy's uint32), got {value:,}"
    return None


def duration_problem(seconds: float | None) -> str | None:
    """Why Envoy cannot take ``seconds`` as a protobuf Duration, or None."""
    if seconds is None:
        return None
    if not math.isfinite(seconds):
        return "must be a finite duration"
    if seconds > MAX_DURATION:
        return f"must be at most {MAX_DURATION:,.0f}s (protobuf's longest duration)"
    if 0 < seconds < MIN_DURATION:
        return "must be 0 or at least 1ms"
    return None


def header_value_problem(value: str) -> str | None:
    if _BAD_VALUE.search(value):
        return "a header value must not contain CR, LF, NUL or other control characters"
    return None


def route_bounds(route: Route, path: str) -> list[Problem]:
    """Problems with ``route`` that Envoy's protos would refuse and the model's own rules let by."""
    return [Problem(f"{path}.{field}", message) for field, message in _route_bounds(route)]


def _route_bounds(route: Route) -> Iterator[tuple[str, str]]:
    yield from _host_problems(route)
    for i, m in enumerate(route.matches):
        for j, h in enumerate(m.headers):
            if h.kind != "regex" and (reason := header_value_problem(h.value)):
                yield f"matches[{i}].headers[{j}].{h.kind}", reason
    yield from _number_problems(route)
    yield from _header_rewrite_problems(route)
    if route.jwt is not None:
        for i, p in enumerate(route.jwt.providers):
            if p.jwks_uri and urlsplit(p.jwks_uri).scheme == "http":
                yield (
                    f"jwt.providers[{i}].jwks_uri",
                    "must be an https:// URL (keys fetched over http can be forged)",
                )
            for j, name in enumerate(p.from_headers):
                if not _TOKEN.match(name):
                    yield (
                        f"jwt.providers[{i}].from_headers[{j}]",
                        f"{_short(name)} is not a valid header name",
                    )


def _host_problems(route: Route) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for i, host in enumerate(route.hosts):
        if not host or " " in host:
            continue  # the model's own rule names it
        if _BAD_VALUE.search(host) or any(c.isspace() for c in host):
            yield f"hosts[{i}]", "a host name must not contain spaces or control characters"
        elif host.lower() in seen:
            yield f"hosts[{i}]", f"{_short(host)} is listed twice (Envoy refuses duplicate domains)"
        seen.add(host.lower())


def _number_problems(route: Route) -> Iterator[tuple[str, str]]:
    rl = route.rate_limit
    numbers: list[tuple[str, int | None]] = []
    durations: list[tuple[str, float | None]] = [("timeout", route.timeout)]
    if rl is not None:
        numbers += [("rate_limit.requests", rl.requests), ("rate_limit.burst", rl.burst)]
        durations.append(("rate_limit.interval", rl.interval))
    if route.retries is not None:
        numbers.append(("retries.attempts", route.retries.attempts))
        durations.append(("retries.per_try_timeout", route.retries.per_try_timeout))
    if route.cors is not None:
        durations.append(("cors.max_age", route.cors.max_age))
    cb = route.circuit_breaker
    if cb is not None:
        for key in ("max_connections", "max_pending_requests", "max_requests", "max_retries"):
            numbers.append((f"circuit_breaker.{key}", getattr(cb, key)))
        od = cb.outlier_detection
        if od is not None:
            base = "circuit_breaker.outlier_detection"
            numbers.append((f"{base}.consecutive_5xx", od.consecutive_5xx))
            durations += [
                (f"{base}.interval", od.interval),
                (f"{base}.base_ejection_time", od.base_ejection_time),
            ]
    for field, value in numbers:
        if reason := uint32_problem(value):
            yield field, reason
    for field, seconds in durations:
        if reason := duration_problem(seconds):
            yield field, reason


def _header_rewrite_problems(route: Route) -> Iterator[tuple[str, str]]:
    if not route.headers:
        return
    for side in ("request", "response"):
        ops = getattr(route.headers, side)
        for op in ("set", "add"):
            for name, value in getattr(ops, op):
                if reason := header_value_problem(value):
                    yield f"headers.{side}.{op}.{name}", reason
                if name.lower() == "host":
                    yield f"headers.{side}.{op}.{name}", "Envoy does not let a route rewrite the host header"
        for name in ops.remove:
            if name.lower() == "host":
                yield f"headers.{side}.remove", "Envoy does not let a route remove the host header"


def credential_problems(cors: Cors, path: str) -> list[Problem]:
    """With ``allow_credentials`` every origin must name one site: browsers refuse credentials with
    ``*``, and a prefix such as ``http`` or a regex such as ``.*`` would let any site read a
    logged-in user's responses."""
    if not cors.allow_credentials:
        return []
    out = []
    for i, origin in enumerate(cors.allow_origins):
        reason = _open_origin(origin)
        if reason:
            out.append(Problem(f"{path}.allow_origins[{i}]", f"{reason} with allow_credentials"))
    return out


def _open_origin(origin: StringMatch) -> str | None:
    if origin.kind == "exact":
        return None  # "*" and "null" are refused by the model's own rules
    if origin.kind == "prefix":
        _, sep, rest = origin.value.partition("://")
        if not sep or not rest.split("/")[0].split(":")[0].strip("."):
            return f"prefix {_short(origin.value)} matches any site's origin and must not be allowed"
        return None
    if any(full_match(origin.value, o) for o in _ATTACKER_ORIGINS):
        return f"regex {_short(origin.value)} matches any site's origin and must not be allowed"
    return None


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
