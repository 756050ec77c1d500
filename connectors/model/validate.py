"""Semantic checks of the model. Every problem is returned at once, each with its field path."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from ..errors import Problem, ValidationError
from .bounds import credential_problems, route_bounds
from .deny import deny_problems
from .fault import fault_problems
from .regex import regex_problem
from .types import Cors, Gateway, Route, StringMatch

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "*"}
MAX_RELATIVE_WEIGHT = 1_000_000


def check_regex(pattern: str) -> str | None:
    """A reason Envoy (RE2) would refuse the pattern, or None."""
    return regex_problem(pattern)


def check_origin(match: StringMatch) -> str | None:
    if match.kind == "regex":
        return check_regex(match.value)
    value = match.value
    if match.kind == "wildcard":
        if value == "*" or re.match(r"^https?://\*\.[A-Za-z0-9.-]+(:[0-9]{1,5})?$", value):
            return None
        return f"{value!r}: a wildcard origin is * or scheme://*.host[:port]"
    if match.kind == "exact":
        if value == "*":
            return None
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or value.endswith("/")
        ):
            return f"origin {value!r} is not of the form scheme://host[:port] (e.g. https://app.example.com)"
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            return f"origin {value!r} has an invalid port"
        return None
    if not value:
        return "an origin prefix must not be empty"
    if not (
        value.startswith("http://")
        or value.startswith("https://")
        or "http://".startswith(value)
        or "https://".startswith(value)
    ):
        return f"origin prefix {value!r} must start with http:// or https://"
    return None


_Add = Callable[[str, str], None]
"""Records a problem: (field under the route's path, message)."""


def route_problems(
    route: Route, path: str, backend_names: set[str] | None = None, listener_names: set[str] | None = None
) -> list[Problem]:
    """Problems with one route. ``backend_names`` None means backends are not checked for existence."""
    out: list[Problem] = []

    def add(field: str, message: str) -> None:
        out.append(Problem(f"{path}.{field}" if field else path, message))

    if not _NAME.match(route.name):
        add("name", f"{route.name!r} is not a valid name (letters, digits, - and _, up to 63 characters)")
    if listener_names is not None and route.listener is not None and route.listener not in listener_names:
        add("listener", f"unknown listener {route.listener!r}")
    _host_problems(route, add)
    _match_problems(route, add)
    out += weight_problems(route, path, backend_names)
    _rate_limit_problems(route, add)
    if route.cors is not None:
        out += cors_problems(route.cors, f"{path}.cors")
    _jwt_problems(route, add)
    _timing_problems(route, add)
    _circuit_breaker_problems(route, add)
    _mirror_problems(route, backend_names, add)
    _header_op_problems(route, add)
    if route.deny is not None:
        out += deny_problems(route.deny, f"{path}.deny")
    if route.fault is not None:
        out += fault_problems(route.fault, f"{path}.fault")
    out += route_bounds(route, path)
    return out


def _host_problems(route: Route, add: _Add) -> None:
    for i, host in enumerate(route.hosts):
        if not host or " " in host or (host != "*" and host.count("*") > 1):
            add(f"hosts[{i}]", f"{host!r} is not a valid host name")


def _match_problems(route: Route, add: _Add) -> None:
    for i, m in enumerate(route.matches):
        if m.path.kind == "regex":
            reason = check_regex(m.path.value)
            if reason:
                add(f"matches[{i}].path", reason)
        elif not m.path.value.startswith("/"):
            add(f"matches[{i}].path", f"path {m.path.value!r} must start with /")
        for j, h in enumerate(m.headers):
            if not _HEADER.match(h.name):
                add(f"matches[{i}].headers[{j}].name", f"{h.name!r} is not a valid header name")
            if h.kind == "regex":
                reason = check_regex(h.value)
                if reason:
                    add(f"matches[{i}].headers[{j}]", reason)
        for method in m.methods:
            if method not in _METHODS:
                add(f"matches[{i}].methods", f"unknown HTTP method {method!r}")


def _rate_limit_problems(route: Route, add: _Add) -> None:
    if route.rate_limit is not None:
        rl = route.rate_limit
        if rl.requests <= 0:
            add("rate_limit.requests", f"must be a positive number of requests, got {rl.requests}")
        if rl.interval <= 0:
            add("rate_limit.interval", "must be longer than zero")
        elif rl.interval < 0.05:
            add("rate_limit.interval", "must be at least 50ms (Envoy's smallest fill interval)")
        if rl.burst is not None and rl.burst <= 0:
            add("rate_limit.burst", f"must be a positive number of requests, got {rl.burst}")


def _jwt_problems(route: Route, add: _Add) -> None:
    if route.jwt is not None:
        if not route.jwt.providers:
            add("jwt.providers", "needs at least one provider")
        names = Counter(p.name for p in route.jwt.providers)
        for i, p in enumerate(route.jwt.providers):
            base = f"jwt.providers[{i}]"
            if names[p.name] > 1:
                add(f"{base}.name", f"provider name {p.name!r} is used twice")
            if not p.issuer:
                add(f"{base}.issuer", "is required")
            if bool(p.jwks_uri) == bool(p.jwks_inline):
                add(base, "needs exactly one of jwks (inline JSON) or jwks_uri")
            if p.jwks_uri and urlsplit(p.jwks_uri).scheme not in ("http", "https"):
                add(f"{base}.jwks_uri", f"{p.jwks_uri!r} is not an http(s) URL")
            if p.jwks_inline:
                import json

                try:
                    keys = json.loads(p.jwks_inline)
                    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
                        add(f"{base}.jwks", "must be a JSON Web Key Set: an object with a keys list")
                except ValueError as exc:
                    add(f"{base}.jwks", f"is not valid JSON: {exc}")


def _timing_problems(route: Route, add: _Add) -> None:
    if route.timeout is not None and route.timeout < 0:
        add("timeout", "must not be negative")
    if route.retries is not None:
        if route.retries.attempts < 0:
            add("retries.attempts", "must not be negative")
        if route.retries.per_try_timeout is not None and route.retries.per_try_timeout <= 0:
            add("retries.per_try_timeout", "must be longer than zero")


def _circuit_breaker_problems(route: Route, add: _Add) -> None:
    if route.circuit_breaker is not None:
        cb = route.circuit_breaker
        for key in ("max_connections", "max_pending_requests", "max_requests", "max_retries"):
            value = getattr(cb, key)
            if value is not None and value <= 0:
                add(f"circuit_breaker.{key}", f"must be a positive number, got {value}")
        od = cb.outlier_detection
        if od is not None:
            if od.consecutive_5xx <= 0:
                add("circuit_breaker.outlier_detection.consecutive_5xx", "must be positive")
            if not 0 <= od.max_ejection_percent <= 100:
                add("circuit_breaker.outlier_detection.max_ejection_percent", "must be between 0 and 100")
            if od.interval <= 0 or od.base_ejection_time <= 0:
                add(
                    "circuit_breaker.outlier_detection",
                    "interval and base_ejection_time must be longer than zero",
                )


def _mirror_problems(route: Route, backend_names: set[str] | None, add: _Add) -> None:
    if route.mirror is not None:
        if backend_names is not None and route.mirror.backend not in backend_names:
            add("mirror.backend", f"unknown backend {route.mirror.backend!r}")
        if not 0 < route.mirror.percent <= 100:
            add("mirror.percent", f"must be more than 0 and at most 100, got {route.mirror.percent:g}")


def _header_op_problems(route: Route, add: _Add) -> None:
    if route.headers:
        for side in ("request", "response"):
            ops = getattr(route.headers, side)
            header_names = [n for n, _ in ops.set] + [n for n, _ in ops.add] + list(ops.remove)
            for n in header_names:
                if not _HEADER.match(n):
                    add(f"headers.{side}", f"{n!r} is not a valid header name")


def weight_problems(route: Route, path: str, backend_names: set[str] | None = None) -> list[Problem]:
    out: list[Problem] = []
    field = f"{path}.backends"
    if not route.backends:
        return [Problem(field, "a route needs at least one backend")]
    names = [b.name for b in route.backends]
    for i, b in enumerate(route.backends):
        if backend_names is not None and b.name not in backend_names:
            known = ", ".join(sorted(backend_names)) or "none"
            out.append(Problem(f"{field}[{i}].name", f"unknown backend {b.name!r} (known: {known})"))
        if names.index(b.name) < i:  # each repeat once, not its first use too
            out.append(Problem(f"{field}[{i}].name", f"backend {b.name!r} is listed twice"))
        if b.weight < 0:
            out.append(Problem(f"{field}[{i}].weight", f"weight must not be negative, got {b.weight}"))
        if route.weight_mode == "relative" and b.weight > MAX_RELATIVE_WEIGHT:
            out.append(Problem(f"{field}[{i}].weight", f"weight must be at most {MAX_RELATIVE_WEIGHT:,}"))
    total = sum(b.weight for b in route.backends)
    if route.weight_mode == "percent":
        if all(b.weight >= 0 for b in route.backends) and total != 100:
            out.append(Problem(field, f"weights sum to {total}, they must sum to 100"))
    elif total <= 0:
        out.append(Problem(field, "at least one backend needs a weight above 0"))
    return out


def cors_problems(cors: Cors, path: str) -> list[Problem]:
    out: list[Problem] = []
    if not cors.allow_origins:
        out.append(Problem(f"{path}.allow_origins", "needs at least one origin"))
    for i, o in enumerate(cors.allow_origins):
        reason = check_origin(o)
        if reason:
            out.append(Problem(f"{path}.allow_origins[{i}]", reason))
    for m in cors.allow_methods:
        if m not in _METHODS:
            out.append(Problem(f"{path}.allow_methods", f"unknown HTTP method {m!r}"))
    for key in ("allow_headers", "expose_headers"):
        for h in getattr(cors, key):
            if h != "*" and not _HEADER.match(h):
                out.append(Problem(f"{path}.{key}", f"{h!r} is not a valid header name"))
    if cors.max_age is not None and cors.max_age < 0:
        out.append(Problem(f"{path}.max_age", "must not be negative"))
    if cors.allow_credentials and any(o.value == "*" for o in cors.allow_origins):
        out.append(
            Problem(f"{path}.allow_credentials", "browsers refuse credentials with the wildcard origin *")
        )
    out += credential_problems(cors, path)
    return out


def gateway_problems(gw: Gateway) -> list[Problem]:
    out: list[Problem] = []
    if not gw.listeners:
        out.append(Problem("listeners", "a gateway needs at least one listener"))
    named: tuple[tuple[str, list[str]], ...] = (
        ("listeners", [x.name for x in gw.listeners]),
        ("backends", [x.name for x in gw.backends]),
        ("routes", [x.name for x in gw.routes]),
    )
    for key, item_names in named:
        for i, item_name in enumerate(item_names):
            if item_names.index(item_name) < i:
                out.append(Problem(f"{key}[{i}].name", f"duplicate name {item_name!r}"))
    ports = [(x.address, x.port) for x in gw.listeners]
    for i, lst in enumerate(gw.listeners):
        if not 1 <= lst.port <= 65535:
            out.append(Problem(f"listeners[{i}].port", f"port must be 1-65535, got {lst.port}"))
        if ports.index((lst.address, lst.port)) < i:
            out.append(Problem(f"listeners[{i}].port", f"{lst.address}:{lst.port} is used by two listeners"))
    for i, b in enumerate(gw.backends):
        if not _NAME.match(b.name):
            out.append(Problem(f"backends[{i}].name", f"{b.name!r} is not a valid name"))
        if not b.endpoints:
            out.append(Problem(f"backends[{i}].endpoints", "a backend needs at least one host:port endpoint"))
        for j, e in enumerate(b.endpoints):
            if not 1 <= e.port <= 65535:
                out.append(Problem(f"backends[{i}].endpoints[{j}]", f"port must be 1-65535, got {e.port}"))
        if b.connect_timeout <= 0:
            out.append(Problem(f"backends[{i}].connect_timeout", "must be longer than zero"))
    backend_names = {b.name for b in gw.backends}
    listener_names = {x.name for x in gw.listeners}
    for i, r in enumerate(gw.routes):
        out += route_problems(r, f"routes[{i}]", backend_names, listener_names)
    return out


def validate_gateway(gw: Gateway) -> Gateway:
    problems = gateway_problems(gw)
    if problems:
        raise ValidationError(problems)
    return gw
