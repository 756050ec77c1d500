"""Probe a route the way a browser would: a CORS preflight, then the real request, and say who answered.

The answers are told apart by what each part of the gateway leaves on a response (measured on Envoy,
see FACTS.md): the demo and test backends set ``x-backend``; Envoy's local rate limiter answers 429
with the body ``local_rate_limited``; jwt_authn answers 401 with ``www-authenticate: Bearer``; the
CORS filter answers an allowed preflight itself (``access-control-allow-origin``, no ``x-backend``),
while a preflight from a refused origin passes through to the backend without CORS headers.

Plain httpx, blocking: the console calls it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import httpx

from .http_client import http_client
from .redact import redact_text

AnsweredBy = Literal["cors", "jwt", "rate-limit", "deny", "upstream", "gateway", "unreachable"]

# Response headers worth showing an operator (the rest is noise for CORS questions).
SHOWN_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-allow-credentials",
    "access-control-max-age",
    "vary",
    "x-backend",
    "www-authenticate",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "server",
    "content-type",
)


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange of the probe and who produced the answer."""

    step: Literal["preflight", "request"]
    method: str
    status: int | None  # None: no answer (connection failed)
    answered_by: AnsweredBy
    explanation: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    allows_origin: bool = False  # access-control-allow-origin covers the probed origin

    @property
    def backend(self) -> str | None:
        return self.headers.get("x-backend")


@dataclass(frozen=True)
class ProbeResult:
    """A CORS probe: the preflight's answer and the real request's answer."""

    url: str
    host: str
    origin: str
    preflight: Answer
    request: Answer

    @property
    def browser_allows(self) -> bool:
        """Would a browser let the page read the real response?"""
        return self.preflight.allows_origin and self.request.allows_origin and self.request.status is not None

    @property
    def verdict(self) -> str:
        if self.preflight.status is None or self.request.status is None:
            return "The gateway could not be reached."
        if not self.preflight.allows_origin:
            return f"Origin {self.origin} is NOT allowed: a browser stops at the preflight."
        if not self.request.allows_origin:
            return (
                f"The preflight allows {self.origin}, but the real response ({self.request.status}, from "
                f"{self.request.answered_by}) has no matching access-control-allow-origin: "
                "a browser blocks it."
            )
        return (
            f"Origin {self.origin} is allowed; the real request got {self.request.status} "
            f"from {describe_source(self.request)}."
        )


def describe_source(answer: Answer) -> str:
    if answer.answered_by == "upstream":
        return f"the backend {answer.backend}" if answer.backend else "the backend"
    return {
        "cors": "the gateway's CORS policy",
        "jwt": "the gateway's JWT check",
        "rate-limit": "the gateway's rate limiter",
        "deny": "the gateway's deny rule",
        "gateway": "the gateway itself",
        "unreachable": "nobody (unreachable)",
    }[answer.answered_by]


def _allows(headers: Mapping[str, str], origin: str) -> bool:
    allowed = headers.get("access-control-allow-origin")
    return allowed is not None and allowed in ("*", origin)


def classify(
    step: Literal["preflight", "request"], status: int, headers: Mapping[str, str], body: str
) -> tuple[AnsweredBy, str]:
    """Who answered, from the marks each part of the gateway leaves on its responses."""
    if status == 429 and "local_rate_limited" in body:
        return "rate-limit", "429 local_rate_limited: the route's rate limit refused the request"
    # jwt_authn refuses with 401, or 403 for an audience it does not accept; both say Bearer.
    if status in (401, 403) and headers.get("www-authenticate", "").lower().startswith("bearer"):
        reason = headers.get("www-authenticate", "")
        return "jwt", f"{status} from the JWT check ({reason})"
    if status == 403 and body.startswith("RBAC: access denied"):
        return "deny", "403 from the gateway's deny rule (RBAC: access denied)"
    if "x-backend" in headers:
        if step == "preflight":
            if _allows(headers, ""):  # the backend itself sent a wildcard
                return "upstream", "the preflight reached the backend, which answered it"
            return "upstream", (
                "the preflight was not answered by the CORS policy and went through to the backend "
                "(the origin is not allowed, or the route has no CORS policy)"
            )
        return "upstream", f"{status} from the backend {headers['x-backend']}"
    if step == "preflight" and "access-control-allow-origin" in headers:
        return "cors", "the gateway's CORS policy answered the preflight and allows this origin"
    if status == 404 and not body.strip():
        return "gateway", "404 from the gateway itself: no route takes this request"
    if status in (404, 503, 502, 504):
        text = body.strip().splitlines()[0] if body.strip() else ""
        return "gateway", f"{status} from the gateway itself{': ' + text if text else ''}"
    return "gateway", f"{status} without a backend's mark: answered by the gateway"


def _exchange(
    client: httpx.Client,
    step: Literal["preflight", "request"],
    method: str,
    url: str,
    headers: dict[str, str],
    origin: str,
) -> Answer:
    try:
        response = client.request(method, url, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(step, method, None, "unreachable", redact_text(f"no answer: {exc}"))
    wanted = {k: response.headers[k] for k in SHOWN_HEADERS if k in response.headers}
    body = response.text[:300]
    answered_by, explanation = classify(step, response.status_code, response.headers, body)
    return Answer(
        step,
        method,
        response.status_code,
        answered_by,
        explanation,
        headers=wanted,
        body=redact_text(body),
        allows_origin=_allows(response.headers, origin),
    )


def probe_cors(
    base_url: str,
    host: str,
    origin: str,
    *,
    path: str = "/",
    method: str = "GET",
    request_headers: tuple[str, ...] = (),
    extra_headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> ProbeResult:
    """Send the preflight (OPTIONS with Origin and Access-Control-Request-*) and then the real
    request with the same Origin, through the gateway at ``base_url`` with Host ``host``.
    ``extra_headers`` (e.g. an Authorization header) go on the real request only, as a browser does."""
    url = base_url.rstrip("/") + (path if path.startswith("/") else "/" + path)
    preflight_headers = {"host": host, "origin": origin, "access-control-request-method": method.upper()}
    if request_headers:
        preflight_headers["access-control-request-headers"] = ",".join(request_headers)
    real_headers = {"host": host, "origin": origin, **(extra_headers or {})}
    with http_client(timeout=timeout) as client:
        preflight = _exchange(client, "preflight", "OPTIONS", url, preflight_headers, origin)
        request = _exchange(client, "request", method.upper(), url, real_headers, origin)
    return ProbeResult(url, host, origin, preflight, request)


def send_request(
    base_url: str, method: str, path: str, headers: Mapping[str, str], *, timeout: float = 5.0
) -> Answer:
    """Send one request through the gateway at ``base_url`` and say who answered it."""
    url = base_url.rstrip("/") + (path if path.startswith("/") else "/" + path)
    lower = {k.lower(): v for k, v in headers.items()}
    preflight = method.upper() == "OPTIONS" and "access-control-request-method" in lower
    step: Literal["preflight", "request"] = "preflight" if preflight else "request"
    with http_client(timeout=timeout) as client:
        return _exchange(client, step, method.upper(), url, lower, lower.get("origin", ""))
