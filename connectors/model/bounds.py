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
    """With ``allow_credentials`` every origin must name whole hosts: browsers refuse credentials
    with ``*``, and a prefix such as ``https://app.example.com`` or a regex such as
    ``https://app\\.example\\.com.*`` also matches ``https://app.example.com.evil.net``, a site
    anyone can register, which could then read a logged-in user's responses."""
    if not cors.allow_credentials:
        return []
    out = []
    for i, origin in enumerate(cors.allow_origins):
        reason = _open_origin(origin)
        if reason:
            out.append(Problem(f"{path}.allow_origins[{i}]", f"{reason} with allow_credentials; {_ADVICE}"))
    return out


_ADVICE = "list exact origins instead (a prefix may only end at the port, e.g. 'http://localhost:')"
# A prefix that stops right after the host, at the port's colon: browsers send only digits after it.
_PORT_BOUNDARY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(\[[0-9A-Fa-f:.]+\]|[^/:@\[\]?#\s]+):$")
# A regex's optional or required port at its end: (:[0-9]+)? :\d+ (?::\d{1,5})? ...
_REGEX_PORT = re.compile(r"(\((\?:)?)?:(\[0-9\]|\\d)([+*]|\{[0-9,]+\})(\))?\??$")
# What a regex must end with to stop at a host: an escaped dot and a literal last label.
_REGEX_HOST_END = re.compile(r"\\\.[A-Za-z0-9-]+$")
_REGEX_META = re.compile(r"(?<!\\)[.*+?()\[\]{}|^$]")
# Sites an attacker can register next to an origin's literal start.
_EXTENSIONS = (".attacker.invalid", "attacker.invalid", "-attacker.invalid")


def _open_origin(origin: StringMatch) -> str | None:
    """Why ``origin`` would also match another site's origin, or None."""
    if origin.kind in ("exact", "wildcard"):
        return None  # "*", "null" and wildcards other than *.host are refused by the model's own rules
    if origin.kind == "prefix":
        if _PORT_BOUNDARY.match(origin.value):
            return None
        return f"prefix {_short(origin.value)} also matches {_short(origin.value + '.attacker.invalid')}"
    pattern = origin.value
    if any(full_match(pattern, o) for o in _ATTACKER_ORIGINS):
        return f"regex {_short(pattern)} matches any site's origin"
    literal = _literal_start(pattern)
    for extension in _EXTENSIONS:
        if full_match(pattern, literal + extension):
            return f"regex {_short(pattern)} also matches {_short(literal + extension)}"
    if not all(_ends_at_host(b) for b in _branches(pattern)):
        return f"regex {_short(pattern)} is not anchored to a full host (end it with '\\.' and a label)"
    return None


def _literal_start(pattern: str) -> str:
    """The characters every match of ``pattern`` starts with (escapes undone), up to the first operator."""
    out = []
    i = 1 if pattern.startswith("^") else 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            out.append(pattern[i + 1])
            i += 2
            continue
        if c in ".*+?()[]{}|^$\\":
            break
        out.append(c)
        i += 1
    if i < len(pattern) and pattern[i] in "*?{" and out:
        out.pop()  # the last character is optional or repeated
    return "".join(out)


def _branches(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|``."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(c, 0)
        if c == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*out, pattern[start:]]


def _ends_at_host(branch: str) -> bool:
    """Whether a branch ends with a literal last label (then an optional port), and has no lone
    unescaped ``.`` (``app.example`` also matches ``app-example``, a site anyone can register)."""
    body = _REGEX_PORT.sub("", branch.removeprefix("^").removesuffix("$"))
    plain = re.sub(r"\[[^\]]*\]", "C", body)
    if re.search(r"(?<!\\)\.(?![*+{])", plain):
        return False
    return bool(_REGEX_HOST_END.search(body)) or not _REGEX_META.search(body)


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
