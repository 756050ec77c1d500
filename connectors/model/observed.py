"""Plain-data form of what a route is seen to have but this tool does not write: rate-limit rules
for some clients or kept by a rate-limit service, authorization rules, per-backend filters, and the
retry details (status codes, back-off, budget).

History records and ``describe -o yaml`` carry them so an undo compares whole routes; a native
gateway file does not accept them (the native connector renders none of them yet). Fault injection
is written (``fault.py``); the policies view still lists it here with the rest.
"""

from __future__ import annotations

from typing import Any

from .durations import format_duration
from .reader import Reader
from .shown import Authorization, AuthzRule, BackendFilter, LimitRule, PolicyScope
from .types import Retries, Route
from .writer import as_is, put_parts

OBSERVED_KEYS = {"limit_rules", "authorization", "backend_filters", "scopes"}
RETRY_KEYS = {"codes", "backoff", "max_backoff", "budget"}


def observed_to_dict(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.limit_rules:
        out["limit_rules"] = [_rule_to_dict(r) for r in route.limit_rules]
    if route.authorization is not None:
        a = route.authorization
        out["authorization"] = {
            "default_action": a.default_action,
            "rules": [{"name": r.name, "action": r.action, "principal": list(r.principal)} for r in a.rules],
            "source": a.source,
        }
    if route.backend_filters:
        out["backend_filters"] = [
            {"backend": f.backend, "kind": f.kind, "settings": f.settings} for f in route.backend_filters
        ]
    if route.scopes:
        out["scopes"] = [
            {
                "policies": list(s.policies),
                "source": s.source,
                "through": list(s.through),
                "not_through": list(s.not_through),
            }
            for s in route.scopes
        ]
    return out


def retry_extras_to_dict(r: Retries) -> dict[str, Any]:
    return put_parts(
        {},
        r,
        (("codes", list), ("backoff", format_duration), ("max_backoff", format_duration), ("budget", as_is)),
    )


def _rule_to_dict(r: LimitRule) -> dict[str, Any]:
    out = put_parts({"kind": r.kind}, r, (("requests", as_is), ("interval", format_duration)))
    for key in ("clients", "source", "why_readonly"):
        if getattr(r, key):
            out[key] = getattr(r, key)
    if r.shadow:
        out["shadow"] = True
    return out


# -- reading (history records) -----------------------------------------------------------------


def observed_from(r: Reader) -> dict[str, Any]:
    """Route keyword arguments for the observed fields present in ``r``."""
    out: dict[str, Any] = {}
    if r.has("limit_rules"):
        out["limit_rules"] = tuple(_rule(x) for x in r.items("limit_rules"))
    if r.has("authorization"):
        out["authorization"] = _authorization(r.child("authorization"))
    if r.has("backend_filters"):
        out["backend_filters"] = tuple(
            BackendFilter(x.str("backend", "?"), x.str("kind", "?"), x.str("settings", ""))
            for x in r.items("backend_filters")
        )
    if r.has("scopes"):
        out["scopes"] = tuple(
            PolicyScope(
                x.str_list("policies"), x.str("source", ""), x.str_list("through"), x.str_list("not_through")
            )
            for x in r.items("scopes")
        )
    return out


def retry_extras_from(r: Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.has("codes"):
        out["codes"] = tuple(int(c) for c in r.str_list("codes") if c.isdigit())
    for key in ("backoff", "max_backoff"):
        if r.has(key):
            out[key] = r.duration(key, None)
    if r.has("budget"):
        out["budget"] = r.str("budget", None)
    return out


def _rule(r: Reader) -> LimitRule:
    if not r.is_mapping():
        return LimitRule("local")
    r.unknown_keys({"kind", "requests", "interval", "clients", "source", "why_readonly", "shadow"})
    kind = r.str("kind", "local")
    return LimitRule(
        kind="global" if kind == "global" else "local",
        requests=r.int("requests", None),
        interval=r.duration("interval", None),
        clients=r.str("clients", ""),
        shadow=r.bool("shadow", False),
        source=r.str("source", ""),
        why_readonly=r.str("why_readonly", ""),
    )


def _authorization(r: Reader) -> Authorization | None:
    if not r.is_mapping():
        return None
    r.unknown_keys({"default_action", "rules", "source"})
    rules = tuple(
        AuthzRule(x.str("name", ""), x.str("action", "?"), x.str_list("principal")) for x in r.items("rules")
    )
    return Authorization(r.str("default_action", "Deny"), rules, r.str("source", ""))


# -- one-line settings (the console's policies view) ----------------------------------------------


def describe_retries(r: Retries) -> str:
    """``3 attempts, per try 2s on 503 (retriable-status-codes), back-off 100ms..10s``."""
    per_try = f", per try {format_duration(r.per_try_timeout)}" if r.per_try_timeout else ""
    on = ",".join([str(c) for c in r.codes] + list(r.retry_on)) or "the gateway's default conditions"
    text = f"{r.attempts} attempts{per_try} on {on}"
    if r.backoff is not None:
        upto = f"..{format_duration(r.max_backoff)}" if r.max_backoff is not None else ""
        text += f", back-off {format_duration(r.backoff)}{upto}"
    return text + (f", budget {r.budget}" if r.budget else "")


def observed_settings(route: Route) -> list[tuple[str, str]]:
    """(policy, one-line settings) for what the route shows but this tool does not write."""
    out: list[tuple[str, str]] = []
    if route.fault is not None:
        out.append(("fault", route.fault.describe()))
    for rule in route.limit_rules:
        why = f" — read-only: {rule.why_readonly}" if rule.why_readonly else ""
        out.append((f"ratelimit({rule.kind})", f"{rule.describe()} [{rule.source}]{why}"))
    if route.authorization is not None:
        a = route.authorization
        rules = [f"{r.action} {r.name}: {'; '.join(r.principal) or 'anyone'}" for r in a.rules]
        out.append(("authz", " | ".join([*rules, f"otherwise {a.default_action}"])))
    for f in route.backend_filters:
        out.append(("backend-filter", f"{f.backend}: {f.kind} {f.settings}".rstrip()))
    for scope in route.scopes:
        out.append(("scope", scope.describe()))
    return out
