""" "What happens to this request?": which route takes it (and why the others did not), which
backends it may reach with what probability, and the policies it meets in order — worked out
offline from the model (``explain``); ``send`` then sends it through the gateway and ``agrees``
says whether the answer is one the explanation allows.

    request.py   the request, from options, a URL or a pasted curl command (bad input: one line)
    paths.py     the path Envoy routes on: normalised as the listener says (the native one: RFC 3986
                 dot segments, merged slashes, escaped slashes redirected)
    routing.py   listener → virtual host → first route that fits, with the reasons for the rest
    policies.py  CORS → deny → JWT → rate limit → router (timeout, retries, mirror, headers, faults)
    jwt_check.py where Envoy's jwt_authn finds tokens and which it accepts
    send.py      the request sent byte for byte; the route that answered, from the access log
    outcome.py   the whole question against a connector: explain, then optionally send and compare
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..model import Gateway
from ..probe import Answer, AnsweredBy
from .paths import NORMALISED, EnvoyPath, PathHandling, envoy_path
from .paths import notes as path_notes
from .policies import Step, cors_step, deny_step, jwt_step, rate_limit_step, router_steps
from .request import Request, build, from_curl, from_url
from .routing import PassedOver, Routing, find_route
from .send import Sent, send

__all__ = [
    "NORMALISED",
    "Explanation",
    "PassedOver",
    "PathHandling",
    "Request",
    "Sent",
    "Step",
    "agrees",
    "build",
    "explain",
    "from_curl",
    "from_url",
    "send",
]


@dataclass(frozen=True)
class Explanation:
    """The offline answer: routing, backend shares (percent) and policy steps, and who answers."""

    request: Request
    routing: Routing
    backends: tuple[tuple[str, float], ...]
    steps: tuple[Step, ...]
    answered_by: AnsweredBy  # who the model says answers: "upstream" when a backend does
    status: int | None  # the status the gateway itself answers with; None when a backend answers
    notes: tuple[str, ...] = ()  # how the path is taken (curl's clean-up, Envoy's normalisation)
    routed_path: str = ""  # the path Envoy routes on and forwards (normalised); "" when it answers first
    redirect: str | None = None  # Envoy's own 307 Location (an escaped slash, UNESCAPE_AND_REDIRECT)

    @property
    def route(self) -> str | None:
        return self.routing.route.name if self.routing.route else None

    def to_json(self) -> dict[str, object]:
        r = self.request
        return {
            "request": {"method": r.method, "host": r.host, "path": r.path, "headers": dict(r.headers)},
            "listener": self.routing.listener.name if self.routing.listener else None,
            "virtual_host": self.routing.domain,
            "route": self.route,
            "passed_over": [{"route": p.route, "reason": p.reason} for p in self.routing.passed_over],
            "backends": [{"name": n, "percent": round(p, 3)} for n, p in self.backends],
            "policies": [{"policy": s.policy, "applies": s.applies, "effect": s.effect} for s in self.steps],
            "answered_by": self.answered_by,
            "status": self.status,
            "notes": list(self.notes),
            "routed_path": self.routed_path or None,
            "redirect": self.redirect,
        }


def explain(
    gw: Gateway, request: Request, bucket: int | None = None, paths: PathHandling = NORMALISED
) -> Explanation:
    """Offline: what the gateway modelled by ``gw`` does with ``request``. ``bucket``: the
    route's rate-limit tokens left, when known (from a sent request's x-ratelimit-remaining);
    ``paths``: how the listener treats paths (the native listener's, unless told otherwise)."""
    seen = envoy_path(request.path, paths)
    routed = replace(request, path=seen.path) if seen.path != request.path else request
    routing = find_route(gw, routed)
    notes = (*request.notes, *path_notes(request.path, seen, paths))
    if seen.action != "route":
        return _answered_first(routing, request, seen, notes)
    route = routing.route
    if route is None:
        return Explanation(request, routing, (), (), "gateway", 404, notes, seen.path)
    shares = tuple((n, p) for n, p in route.weight_share().items() if p > 0)
    steps: list[Step] = []
    for step in (
        cors_step(route, routed),
        deny_step(route, routed),
        jwt_step(route, routed),
        rate_limit_step(route, routed, bucket),
    ):
        steps.append(step)
        if step.answers is not None:
            return Explanation(
                request, routing, shares, tuple(steps), step.answers, step.status, notes, seen.path
            )
    steps += router_steps(route, routed)
    return Explanation(request, routing, shares, tuple(steps), "upstream", None, notes, seen.path)


def _answered_first(
    routing: Routing, request: Request, seen: EnvoyPath, notes: tuple[str, ...]
) -> Explanation:
    """Envoy answers before any route (400 for a path it refuses, 307 to the unescaped path): no
    route takes the request; the note names the route a client following the redirect meets."""
    mine = Routing(routing.listener, routing.domain, None, None, ())
    if seen.action == "reject":
        return Explanation(request, mine, (), (), "gateway", 400, notes)
    then = routing.route.name if routing.route is not None else None
    follow = f"route {then}" if then else "no route (404)"
    notes = tuple(n + f"; a client that follows it meets {follow}" if "307" in n else n for n in notes)
    return Explanation(request, mine, (), (), "gateway", 307, notes, redirect=seen.path)


def agrees(explanation: Explanation, sent: Sent) -> tuple[bool, str]:
    """Whether what the gateway did with the request is what ``explanation`` predicted: the ROUTE
    that took it (from the access log) and who answered, and in what words."""
    if sent.answer.status is None:
        return False, "the gateway could not be reached"
    predicted = explanation.route
    if sent.route_known and sent.route != predicted:
        took = f"route {sent.route}" if sent.route else "no route"
        return False, f"{took} took it (access log), the prediction was {predicted or 'no route'}"
    ok, why = _answer_agrees(explanation, sent.answer)
    if sent.route_known:
        return ok, f"{why}; route {predicted or '(none)'} took it (access log)"
    return ok, f"{why}; which route took it is not known ({sent.route_why})"


def _answer_agrees(explanation: Explanation, answer: Answer) -> tuple[bool, str]:
    route = explanation.routing.route
    if explanation.redirect is not None:
        where = answer.headers.get("location")
        ok = answer.status == 307 and where == explanation.redirect
        return ok, f"expected 307 to {explanation.redirect} from the gateway, got {answer.status} to {where}"
    if explanation.answered_by != "upstream":
        ok = answer.answered_by == explanation.answered_by and answer.status == explanation.status
        return (
            ok,
            f"expected {explanation.status} from {explanation.answered_by}, "
            f"got {answer.status} from {answer.answered_by}",
        )
    if answer.answered_by == "rate-limit" and route is not None and route.rate_limit is not None:
        limit = route.rate_limit
        if limit.enabled and not limit.shadow:
            return True, "the route's rate limit refused it (its bucket was empty)"
    if answer.answered_by != "upstream":
        return False, f"expected a backend to answer, got {answer.status} from {answer.answered_by}"
    names = {n for n, _ in explanation.backends}
    if answer.backend is not None and answer.backend not in names:
        return False, f"backend {answer.backend} answered; the model allows {', '.join(sorted(names))}"
    who = f"backend {answer.backend}" if answer.backend else "a backend"
    return True, f"{who} answered ({answer.status}), as the model allows"
