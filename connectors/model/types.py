"""The vendor-neutral model of a gateway: listeners, backends, routes and per-route policies.

Every connector reads its native objects (Envoy config, VirtualServices, HTTPRoutes...) into these
types and writes edits of them back. Instances are immutable; edits make new ones with ``replace``.
Durations are seconds as ``float``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# Read from the clusters and shown, never written by this tool.
from .shown import Authorization, BackendFilter, LimitRule, PolicyScope

MatchKind = Literal["exact", "prefix", "regex", "wildcard"]
HeaderMatchKind = Literal["exact", "prefix", "regex", "present"]
WeightMode = Literal["percent", "relative"]


@dataclass(frozen=True)
class StringMatch:
    """Matches a string exactly, by prefix, or by an RE2 regular expression."""

    kind: MatchKind
    value: str

    def __str__(self) -> str:
        return {"exact": "{}", "prefix": "{}*", "regex": "~{}", "wildcard": "{}"}[self.kind].format(
            self.value
        )

    def wildcard_regex(self) -> str:
        """A ``wildcard`` origin (``*``, ``https://*.example.com``) as an RE2 regex for the whole value."""
        return ".*" if self.value == "*" else re.escape(self.value).replace(r"\*", "[^/]+")


@dataclass(frozen=True)
class HeaderMatch:
    """A request header condition: present, exact, prefix or regex, optionally inverted."""

    name: str
    kind: HeaderMatchKind = "exact"
    value: str = ""
    invert: bool = False

    def __str__(self) -> str:
        op = "!" if self.invert else ""
        if self.kind == "present":
            return f"{op}{self.name}"
        from .secrets import MASK, is_secret_header, redact_text

        # Shown on screen and in tables: a credential header's value never, a token in any other never.
        value = MASK if is_secret_header(self.name) else redact_text(self.value)
        return f"{self.name}{op}{ {'exact': '=', 'prefix': '^=', 'regex': '~='}[self.kind] }{value}"


@dataclass(frozen=True)
class RouteMatch:
    """One way a request can match the route: a path match plus optional header and method matches."""

    path: StringMatch = field(default_factory=lambda: StringMatch("prefix", "/"))
    headers: tuple[HeaderMatch, ...] = ()
    methods: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [str(self.path)]
        parts += [f"[{h}]" for h in self.headers]
        if self.methods:
            parts.append("(" + ",".join(self.methods) + ")")
        return " ".join(parts)


@dataclass(frozen=True)
class WeightedBackend:
    """A backend a route sends to, with its share. ``name`` refers to a gateway backend (native) or
    is the connector's own identifier for a destination (``reviews/v2``, ``svc:8080``)."""

    name: str
    weight: int


@dataclass(frozen=True)
class RateLimit:
    """Local token-bucket limit: ``requests`` tokens added every ``interval`` seconds, bucket size
    ``burst`` (defaults to ``requests``). A ``shadow`` limit is evaluated and counted but refuses
    nothing: what it would refuse shows before it is enforced."""

    requests: int
    interval: float = 1.0
    burst: int | None = None
    enabled: bool = True
    shadow: bool = False

    @property
    def bucket_size(self) -> int:
        return self.burst if self.burst is not None else self.requests

    def describe(self) -> str:
        from .durations import format_duration

        per = "s" if self.interval == 1 else format_duration(self.interval)
        text = f"{self.requests}/{per}"
        if self.burst is not None and self.burst != self.requests:
            text += f" burst {self.burst}"
        if not self.enabled:
            return f"{text} (off)"
        return f"{text} (shadow)" if self.shadow else text


@dataclass(frozen=True)
class Cors:
    """A route's CORS policy: which origins, methods and headers a browser may use."""

    allow_origins: tuple[StringMatch, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: float | None = None
    allow_credentials: bool = False

    def __post_init__(self) -> None:
        # An origin with "*" is a wildcard (every origin, or every subdomain), never a literal star.
        origins = tuple(
            StringMatch("wildcard", o.value) if o.kind == "exact" and "*" in o.value else o
            for o in self.allow_origins
        )
        object.__setattr__(self, "allow_origins", origins)


@dataclass(frozen=True)
class JwtProvider:
    """Who issues the tokens a route accepts, and where their keys are."""

    name: str
    issuer: str
    audiences: tuple[str, ...] = ()
    jwks_uri: str | None = None
    jwks_inline: str | None = None
    from_headers: tuple[str, ...] = ()
    forward: bool = False


@dataclass(frozen=True)
class Jwt:
    """Requests must carry a valid JWT from any of ``providers`` (when ``required``)."""

    providers: tuple[JwtProvider, ...]
    required: bool = True


@dataclass(frozen=True)
class Fault:
    """Injected faults: a delay and/or an abort, each on a share of the requests."""

    delay: float | None = None
    delay_percent: float = 100.0
    abort_status: int | None = None
    abort_grpc: str | None = None
    abort_percent: float = 100.0

    def describe(self) -> str:
        from .durations import format_duration

        parts = []
        if self.delay is not None:
            parts.append(f"delay {format_duration(self.delay)} on {self.delay_percent:g}%")
        if self.abort_status is not None or self.abort_grpc is not None:
            code = str(self.abort_status) if self.abort_status is not None else f"grpc {self.abort_grpc}"
            parts.append(f"abort {code} on {self.abort_percent:g}%")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class Retries:
    """How often, and on which failures, a request is retried. ``codes`` are the HTTP statuses
    retried (when ``retry_on`` says so); ``backoff``/``max_backoff`` the interval between tries;
    ``budget`` a limit on the share of requests that may be retries (e.g. ``20% per 10s``)."""

    attempts: int
    per_try_timeout: float | None = None
    retry_on: tuple[str, ...] = ("5xx", "connect-failure", "reset")
    codes: tuple[int, ...] = ()
    backoff: float | None = None
    max_backoff: float | None = None
    budget: str | None = None


@dataclass(frozen=True)
class OutlierDetection:
    """When a backend host is ejected for failing, and for how long."""

    consecutive_5xx: int = 5
    interval: float = 10.0
    base_ejection_time: float = 30.0
    max_ejection_percent: int = 10


@dataclass(frozen=True)
class CircuitBreaker:
    """Connection and request limits towards a route's backends."""

    max_connections: int | None = None
    max_pending_requests: int | None = None
    max_requests: int | None = None
    max_retries: int | None = None
    outlier_detection: OutlierDetection | None = None


@dataclass(frozen=True)
class Mirror:
    """A backend that receives a copy of a share of the route's requests."""

    backend: str
    percent: float = 100.0


@dataclass(frozen=True)
class HeaderOps:
    """Headers to set, add and remove on one side of the exchange."""

    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.set or self.add or self.remove)


@dataclass(frozen=True)
class HeaderRewrite:
    """Header changes on the request and on the response."""

    request: HeaderOps = field(default_factory=HeaderOps)
    response: HeaderOps = field(default_factory=HeaderOps)

    def __bool__(self) -> bool:
        return bool(self.request or self.response)


@dataclass(frozen=True)
class DenyClient:
    """A client to refuse: requests carrying header ``name`` with exactly ``value`` (``kind`` header),
    or coming from an address in the CIDR ``value`` (``kind`` ip)."""

    kind: Literal["header", "ip"]
    value: str
    name: str = ""

    def __str__(self) -> str:
        """As shown (plans, verification, tables): a credential header's value masked."""
        if self.kind == "ip":
            return f"ip={self.value}"
        from .secrets import MASK, is_secret_header, redact_text

        return f"{self.name}={MASK if is_secret_header(self.name) else redact_text(self.value)}"


@dataclass(frozen=True)
class Deny:
    """Refuse these clients on the route with ``status`` (the others pass)."""

    clients: tuple[DenyClient, ...]
    status: int = 403

    def describe(self) -> str:
        return ", ".join(str(c) for c in self.clients) or "nobody"


@dataclass(frozen=True)
class Route:
    """Where matching requests go (weighted backends) and the policies applied on the way."""

    name: str
    backends: tuple[WeightedBackend, ...]
    hosts: tuple[str, ...] = ("*",)
    matches: tuple[RouteMatch, ...] = (RouteMatch(),)
    weight_mode: WeightMode = "percent"
    rate_limit: RateLimit | None = None
    cors: Cors | None = None
    jwt: Jwt | None = None
    timeout: float | None = None
    retries: Retries | None = None
    circuit_breaker: CircuitBreaker | None = None
    mirror: Mirror | None = None
    headers: HeaderRewrite | None = None
    deny: Deny | None = None
    # Read from the cluster and shown, but not written by this tool.
    fault: Fault | None = None
    limit_rules: tuple[LimitRule, ...] = ()
    authorization: Authorization | None = None
    backend_filters: tuple[BackendFilter, ...] = ()
    scopes: tuple[PolicyScope, ...] = ()  # policies that apply through only some parent gateways
    listener: str | None = None
    # Where the route comes from in the connector's native objects, e.g. "VirtualService default/reviews".
    source: str = ""

    def policy_names(self) -> tuple[str, ...]:
        """Short names of the policies attached, for a routes table column."""
        names = []
        if self.rate_limit is not None:  # a shadowed limit refuses nothing: never a plain "ratelimit"
            limit = self.rate_limit
            names.append(
                "ratelimit(off)"
                if not limit.enabled
                else "ratelimit(shadow)"
                if limit.shadow
                else "ratelimit"
            )
        for attr, label in (
            ("cors", "cors"),
            ("jwt", "jwt"),
            ("timeout", "timeout"),
            ("retries", "retries"),
            ("circuit_breaker", "circuit"),
            ("mirror", "mirror"),
            ("headers", "headers"),
            ("fault", "fault"),
            ("authorization", "authz"),
            ("backend_filters", "backend-filters"),
            ("deny", "deny"),
        ):
            if getattr(self, attr):
                scope = next((s for s in self.scopes if label in s.policies), None)
                # How many clients a deny refuses: deny(2), deny(2, via gw-a).
                count = [str(len(self.deny.clients))] if attr == "deny" and self.deny is not None else []
                inside = ", ".join(count + ([scope.short()] if scope else []))
                names.append(f"{label}({inside})" if inside else label)
        for kind in dict.fromkeys(r.kind for r in self.limit_rules):
            names.append(f"ratelimit({kind})" if kind == "global" else "ratelimit(clients)")
        return tuple(names)

    def weight_share(self) -> dict[str, float]:
        """Each backend's share in percent, whatever the weight mode."""
        total = sum(b.weight for b in self.backends)
        if total <= 0:
            return {b.name: 0.0 for b in self.backends}
        return {b.name: 100.0 * b.weight / total for b in self.backends}


@dataclass(frozen=True)
class Endpoint:
    """A backend address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Backend:
    """A named upstream service with its endpoints (native mode) or a cluster service reference."""

    name: str
    endpoints: tuple[Endpoint, ...] = ()
    connect_timeout: float = 1.0


@dataclass(frozen=True)
class Listener:
    """An address and port the gateway accepts traffic on."""

    name: str
    port: int
    address: str = "127.0.0.1"


@dataclass(frozen=True)
class Gateway:
    """A whole gateway: listeners, backends and routes."""

    name: str
    routes: tuple[Route, ...]
    listeners: tuple[Listener, ...] = ()
    backends: tuple[Backend, ...] = ()
    access_log: bool = True

    def route(self, name: str) -> Route:
        for r in self.routes:
            if r.name == name:
                return r
        from ..errors import NotFound

        raise NotFound(f"no route named {name!r}")

    def with_route(self, route: Route) -> Gateway:
        from dataclasses import replace

        routes = tuple(route if r.name == route.name else r for r in self.routes)
        return replace(self, routes=routes)
