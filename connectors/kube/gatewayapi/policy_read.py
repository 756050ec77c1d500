"""Envoy Gateway policy settings → model parts: rate limits (local, per-client and global rules),
CORS, JWT, authorization, retries as written, circuit breaker and fault injection."""

from __future__ import annotations

from typing import Any

from ...model import (
    Authorization,
    AuthzRule,
    CircuitBreaker,
    Cors,
    Deny,
    DenyClient,
    Fault,
    Jwt,
    JwtProvider,
    LimitRule,
    RateLimit,
    Retries,
    StringMatch,
)
from ...model.durations import parse_duration
from ..resources import JsonDict

UNIT_SECONDS = {
    "Second": 1.0,
    "Minute": 60.0,
    "Hour": 3600.0,
    "Day": 86400.0,
    "Week": 604800.0,
    "Month": 2592000.0,
    "Year": 31536000.0,
}
GLOBAL_WHY = (
    "counted by the rate-limit service Envoy Gateway runs for the whole fleet; this tool edits local "
    "limits only"
)
CLIENTS_WHY = "counts only the requests its client selectors pick; rate-limit edits keep it as it is"


def duration(value: Any) -> float | None:
    try:
        return parse_duration(value) if value is not None else None
    except ValueError:
        return None


def cors_from_filter(c: Any) -> Cors | None:
    if not isinstance(c, dict):
        return None
    max_age = c.get("maxAge")
    return Cors(
        allow_origins=tuple(StringMatch("exact", str(o)) for o in c.get("allowOrigins") or []),
        allow_methods=tuple(str(m).upper() for m in c.get("allowMethods") or []),
        allow_headers=tuple(str(h) for h in c.get("allowHeaders") or []),
        expose_headers=tuple(str(h) for h in c.get("exposeHeaders") or []),
        max_age=float(max_age) if isinstance(max_age, int | float) else None,
        allow_credentials=bool(c.get("allowCredentials", False)),
    )


def cors_from_policy(c: Any) -> Cors | None:
    """SecurityPolicy ``cors``: like the filter, but ``maxAge`` is a duration string."""
    if not isinstance(c, dict):
        return None
    base = cors_from_filter({k: v for k, v in c.items() if k != "maxAge"})
    assert base is not None
    return Cors(
        allow_origins=base.allow_origins,
        allow_methods=base.allow_methods,
        allow_headers=base.allow_headers,
        expose_headers=base.expose_headers,
        max_age=duration(c.get("maxAge")),
        allow_credentials=base.allow_credentials,
    )


def limit_from_policy(spec: JsonDict) -> RateLimit | None:
    """The rule of ``rateLimit.local`` that applies to every client (no ``clientSelectors``)."""
    local = (spec.get("rateLimit") or {}).get("local") or {}
    for rule in local.get("rules") or []:
        if not isinstance(rule, dict) or rule.get("clientSelectors"):
            continue
        limit = rule.get("limit") or {}
        seconds = UNIT_SECONDS.get(str(limit.get("unit")))
        if seconds is None or limit.get("requests") is None:
            continue
        # A local rule's shadowMode does nothing (Envoy Gateway honours it on Global limits only):
        # the rule is enforced whatever it says.
        return RateLimit(requests=int(limit["requests"]), interval=seconds)
    return None


def _selector(sel: JsonDict) -> str:
    """One clientSelector as a line: ``x-user-id=john, !x-org-id=test, path /a*, GET``."""
    parts = []
    for h in sel.get("headers") or []:
        if not isinstance(h, dict):
            continue
        name, value, neg = h.get("name"), h.get("value", ""), "!" if h.get("invert") else ""
        kind = str(h.get("type") or "Exact")
        if kind == "Distinct":
            parts.append(f"each {name} value")
        else:
            parts.append(f"{neg}{name}{'~=' if kind == 'RegularExpression' else '='}{value}")
    path = sel.get("path")
    if isinstance(path, dict):
        parts.append(f"path {'' if path.get('type', 'PathPrefix') == 'Exact' else '~'}{path.get('value')}")
    parts += [str(m.get("value")) for m in sel.get("methods") or [] if isinstance(m, dict)]
    for q in sel.get("queryParams") or []:
        if isinstance(q, dict):
            parts.append(f"?{q.get('name')}={q.get('value', '')}")
    cidr = sel.get("sourceCIDR")
    if isinstance(cidr, dict):
        parts.append(f"from {cidr.get('value')}{' (each address)' if cidr.get('type') == 'Distinct' else ''}")
    return ", ".join(parts)


def limit_rules(spec: JsonDict, source: str) -> tuple[LimitRule, ...]:
    """The rules shown read-only: local rules with client selectors, and every global rule."""
    rl = spec.get("rateLimit") or {}
    out = []
    for kind in ("local", "global"):
        for i, rule in enumerate((rl.get(kind) or {}).get("rules") or []):
            if not isinstance(rule, dict) or (kind == "local" and not rule.get("clientSelectors")):
                continue
            limit = rule.get("limit") or {}
            selectors = [s for s in rule.get("clientSelectors") or [] if isinstance(s, dict)]
            out.append(
                LimitRule(
                    kind=kind,
                    requests=int(limit["requests"]) if limit.get("requests") is not None else None,
                    interval=UNIT_SECONDS.get(str(limit.get("unit"))),
                    clients=" or ".join(_selector(s) for s in selectors),
                    shadow=bool(rule.get("shadowMode", False)),
                    source=f"{source} rateLimit.{kind}.rules[{i}]",
                    why_readonly=GLOBAL_WHY if kind == "global" else CLIENTS_WHY,
                )
            )
    return tuple(out)


def jwt_from_policy(spec: JsonDict) -> Jwt | None:
    jwt = spec.get("jwt")
    if not isinstance(jwt, dict):
        return None
    providers = []
    for p in jwt.get("providers") or []:
        if not isinstance(p, dict):
            continue
        local = p.get("localJWKS") or {}
        providers.append(
            JwtProvider(
                name=str(p.get("name", "?")),
                issuer=str(p.get("issuer") or ""),
                audiences=tuple(str(a) for a in p.get("audiences") or []),
                jwks_uri=(p.get("remoteJWKS") or {}).get("uri"),
                jwks_inline=local.get("inline"),
                from_headers=tuple(
                    str(h.get("name"))
                    for h in (p.get("extractFrom") or {}).get("headers") or []
                    if isinstance(h, dict)
                ),
                forward=bool(p.get("forwardOriginalToken", False)),
            )
        )
    return Jwt(providers=tuple(providers), required=not jwt.get("optional", False)) if providers else None


def _principal(p: JsonDict) -> tuple[str, ...]:
    out = [f"from {c}" for c in p.get("clientCIDRs") or []]
    for h in p.get("headers") or []:
        if isinstance(h, dict):
            out.append(f"header {h.get('name')} in {', '.join(str(v) for v in h.get('values') or [])}")
    jwt = p.get("jwt")
    if isinstance(jwt, dict):
        claims = [
            f"{c.get('name')} in {', '.join(str(v) for v in c.get('values') or [])}"
            for c in jwt.get("claims") or []
            if isinstance(c, dict)
        ]
        scopes = [f"scope {s}" for s in jwt.get("scopes") or []]
        out.append(f"jwt of {jwt.get('provider')}" + "".join(f"; {x}" for x in claims + scopes))
    return tuple(out)


def authorization(spec: JsonDict, source: str) -> Authorization | None:
    """SecurityPolicy ``authorization``: rules in order, then the default action."""
    a = spec.get("authorization")
    if not isinstance(a, dict):
        return None
    rules = []
    for i, r in enumerate(a.get("rules") or []):
        if not isinstance(r, dict):
            continue
        principal = _principal(r.get("principal") or {})
        methods = (r.get("operation") or {}).get("methods") or []
        if methods:
            principal += (f"methods {', '.join(str(m) for m in methods)}",)
        if r.get("cel"):
            principal += (f"cel {r['cel']}",)
        rules.append(AuthzRule(str(r.get("name") or f"rules[{i}]"), str(r.get("action", "?")), principal))
    return Authorization(str(a.get("defaultAction") or "Deny"), tuple(rules), source)


# -- deny rules (written by ``deny``) ------------------------------------------------------------

RULE_PREFIX = "gatewayctl-deny "


def is_deny_rule(rule: Any) -> bool:
    return isinstance(rule, dict) and str(rule.get("name") or "").startswith(RULE_PREFIX)


def deny_from_policy(spec: JsonDict) -> Deny | None:
    """The deny rules this tool wrote into a SecurityPolicy's ``authorization``."""
    clients: list[DenyClient] = []
    for rule in (spec.get("authorization") or {}).get("rules") or []:
        if not is_deny_rule(rule) or rule.get("action") != "Deny":
            continue
        principal = rule.get("principal") or {}
        clients += [DenyClient("ip", str(c)) for c in principal.get("clientCIDRs") or []]
        for h in principal.get("headers") or []:
            if isinstance(h, dict):
                name = str(h.get("name") or "").lower()
                clients += [DenyClient("header", str(v), name) for v in h.get("values") or []]
    return Deny(tuple(clients)) if clients else None


def without_deny_rules(auth: Authorization | None) -> Authorization | None:
    """``auth`` without the deny rules (shown apart as the route's deny); None when nothing is left
    but allowing everyone."""
    if auth is None:
        return None
    rules = tuple(r for r in auth.rules if not r.name.startswith(RULE_PREFIX))
    if not rules and auth.default_action == "Allow":
        return None
    return Authorization(auth.default_action, rules, auth.source)


def retries_from_policy(r: Any) -> Retries | None:
    """BackendTrafficPolicy ``retry`` as written: triggers, status codes, per-try timeout, back-off."""
    if not isinstance(r, dict):
        return None
    retry_on = r.get("retryOn") or {}
    back_off = (r.get("perRetry") or {}).get("backOff") or {}
    return Retries(
        attempts=int(r.get("numRetries", 2)),
        per_try_timeout=duration((r.get("perRetry") or {}).get("timeout")),
        retry_on=tuple(str(t) for t in retry_on.get("triggers") or []),
        codes=tuple(int(c) for c in retry_on.get("httpStatusCodes") or []),
        backoff=duration(back_off.get("baseInterval")),
        max_backoff=duration(back_off.get("maxInterval")),
    )


def retries_from_rule(r: Any) -> Retries | None:
    """An HTTPRoute rule's ``retry``: attempts, the status codes retried, back-off."""
    if not isinstance(r, dict):
        return None
    return Retries(
        attempts=int(r.get("attempts", 1)),
        retry_on=(),
        codes=tuple(int(c) for c in r.get("codes") or []),
        backoff=duration(r.get("backoff")),
    )


def circuit(policy: JsonDict) -> CircuitBreaker | None:
    cb = policy.get("circuitBreaker")
    if not isinstance(cb, dict):
        return None
    return CircuitBreaker(
        max_connections=cb.get("maxConnections"),
        max_pending_requests=cb.get("maxPendingRequests"),
        max_requests=cb.get("maxParallelRequests"),
        max_retries=cb.get("maxParallelRetries"),
    )


def fault(policy: JsonDict) -> Fault | None:
    """``faultInjection``: a fixed delay and/or an abort (HTTP or gRPC status), each on a share."""
    f = policy.get("faultInjection")
    if not isinstance(f, dict):
        return None
    delay, abort = f.get("delay") or {}, f.get("abort") or {}
    status = abort.get("httpStatus")
    out = Fault(
        delay=duration(delay.get("fixedDelay")),
        delay_percent=float(delay.get("percentage", 100.0)),
        abort_status=int(status) if status is not None else None,
        abort_grpc=str(abort["grpcStatus"]) if abort.get("grpcStatus") is not None else None,
        abort_percent=float(abort.get("percentage", 100.0)),
    )
    return out if out != Fault() else None
