"""The policies a routed request meets, in the order the native listener runs them:
CORS → deny → JWT → rate limit → router (timeout, retries, mirror, header rewrites). Each step says
whether it applies and what it does; a step that would answer the request itself (an allowed
preflight, a missing token, ...) stops the walk, as Envoy's filter chain does."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from ..model import Cors, Route, format_duration
from ..probe import AnsweredBy
from .jwt_check import verdict
from .request import Request
from .routing import _string_fits


@dataclass(frozen=True)
class Step:
    """One policy on the request's way: ``answers`` when the gateway would answer it here."""

    policy: str
    applies: bool
    effect: str
    answers: AnsweredBy | None = None
    status: int | None = None


def _origin_allowed(cors: Cors, origin: str) -> bool:
    return any(_string_fits(m, origin) or (m.kind == "exact" and m.value == "*") for m in cors.allow_origins)


def cors_step(route: Route, request: Request) -> Step:
    origin = request.header("origin")
    if route.cors is None:
        if request.is_preflight:
            return Step("cors", False, "no CORS policy: the preflight goes through to the backend")
        return Step("cors", False, "no CORS policy")
    if origin is None:
        return Step("cors", True, "no Origin header: not a cross-origin browser request, nothing to do")
    allowed = _origin_allowed(route.cors, origin)
    if request.is_preflight:
        if allowed:
            return Step(
                "cors", True, f"preflight from {origin}: answered by the gateway, origin allowed", "cors", 200
            )
        return Step(
            "cors", True, f"preflight from {origin}: origin NOT allowed, passed through to the backend"
        )
    verdict = "allowed: the response carries" if allowed else "NOT allowed: the response has no"
    return Step("cors", True, f"origin {origin} {verdict} access-control-allow-origin")


def deny_step(route: Route, request: Request) -> Step:
    if route.deny is None or not route.deny.clients:
        return Step("deny", False, "no deny rules")
    for c in route.deny.clients:
        if c.kind == "ip":
            hit = ipaddress.ip_address(request.client_ip) in ipaddress.ip_network(c.value, strict=False)
        else:
            hit = request.header(c.name) == c.value
        if hit:
            return Step(
                "deny",
                True,
                f"client {c} is denied: refused with {route.deny.status}",
                "deny",
                route.deny.status,
            )
    return Step("deny", True, f"not one of the denied clients ({route.deny.describe()})")


def jwt_step(route: Route, request: Request) -> Step:
    jwt = route.jwt
    if jwt is None:
        return Step("jwt", False, "no JWT requirement")
    result = verdict(jwt, request)
    if result.passes:
        return Step("jwt", True, result.reason)
    issuers = ", ".join(p.issuer for p in jwt.providers)
    refusal = f"{result.reason}: refused with {result.status} (needs a token from {issuers})"
    return Step("jwt", True, refusal, "jwt", result.status)


def rate_limit_step(route: Route, request: Request, bucket: int | None = None) -> Step:
    rl = route.rate_limit
    if rl is None:
        return Step("rate limit", False, "no rate limit")
    if not rl.enabled:
        return Step("rate limit", False, f"{rl.describe()}: not enforced")
    # The level a sent request's x-ratelimit-remaining showed: after that request took its token.
    level = (
        f"; bucket now {bucket} of {rl.bucket_size} tokens (after the request)" if bucket is not None else ""
    )
    if rl.shadow:
        return Step("rate limit", True, f"{rl.describe()}: counted, never refused{level}")
    return Step("rate limit", True, f"{rl.describe()}: 429 once the bucket is empty{level}")


def router_steps(route: Route, request: Request) -> list[Step]:
    out = []
    timeout = (
        f"times out after {format_duration(route.timeout)} (504)" if route.timeout else "no route timeout"
    )
    out.append(Step("timeout", route.timeout is not None, timeout))
    if route.retries is not None:
        rt = route.retries
        per = f", {format_duration(rt.per_try_timeout)} per try" if rt.per_try_timeout else ""
        out.append(Step("retries", True, f"up to {rt.attempts} retries on {', '.join(rt.retry_on)}{per}"))
    else:
        out.append(Step("retries", False, "no retries"))
    if route.mirror is not None:
        out.append(Step("mirror", True, f"{route.mirror.percent:g}% copied to {route.mirror.backend}"))
    if route.headers:
        ops = route.headers.request
        changed = [k for k, _ in ops.set] + [k for k, _ in ops.add] + list(ops.remove)
        out.append(
            Step(
                "headers",
                True,
                "request headers rewritten: " + ", ".join(changed)
                if changed
                else "response headers rewritten",
            )
        )
    if route.fault is not None:  # a share of requests: said, not predicted for this one request
        out.append(Step("faults", True, f"fault injection on a share of requests: {route.fault.describe()}"))
    else:
        out.append(Step("faults", False, "no fault injection"))
    return out


StepFn = Callable[[Route, Request], Step]
