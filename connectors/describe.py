"""The one line an operator reads for a change, in plans, history and the audit log:
``shop: weights v1 90→50, v2 10→50``, ``api-cors: CORS origins +https://b.example; max age none→10m``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Cors, RateLimit, Route


def describe_change(before: Route, after: Route) -> str:
    """One line an operator reads in history: ``shop: weights v1 90→50, v2 10→50``."""
    parts = []
    if before.backends != after.backends:
        bw = {b.name: b.weight for b in before.backends}
        moved = [b for b in after.backends if bw.get(b.name) != b.weight]  # unchanged ones add noise
        parts.append("weights " + ", ".join(f"{b.name} {bw.get(b.name, 0)}→{b.weight}" for b in moved))
    if before.rate_limit != after.rate_limit:
        parts.append(_limit_change(before, after))
    if before.cors != after.cors:
        parts.append(_cors_change(before.cors, after.cors))
    if before.deny != after.deny:
        old_deny = before.deny.describe() if before.deny else "nobody"
        parts.append(f"deny {old_deny}→{after.deny.describe() if after.deny else 'nobody'}")
    if before.fault != after.fault:
        old_fault = before.fault.describe() if before.fault else "none"
        parts.append(f"fault {old_fault}→{after.fault.describe() if after.fault else 'none'}")
    rest = [
        k
        for k in ("hosts", "matches", "jwt", "timeout", "retries", "circuit_breaker", "mirror", "headers")
        if getattr(before, k) != getattr(after, k)
    ]
    if rest:
        parts.append(", ".join(rest) + " changed")
    return f"{after.name}: " + ("; ".join(parts) or "no change")


def _limit_change(before: Route, after: Route) -> str:
    """``rate limit 2/s (shadow)→5/s (shadow)``; a change of mode alone says it in words
    (``rate limit 2/s: shadow → enforced``), so enforcing a shadowed limit is never a silent suffix."""
    old_limit, new_limit = before.rate_limit, after.rate_limit
    if old_limit is not None and new_limit is not None:
        numbers = replace(new_limit, enabled=True, shadow=False)
        if replace(old_limit, enabled=True, shadow=False) == numbers:
            return f"rate limit {numbers.describe()}: {_mode(old_limit)} → {_mode(new_limit)}"
    old = old_limit.describe() if old_limit else "none"
    new = new_limit.describe() if new_limit else "none"
    if new_limit is None and after.limit_rules:
        new += f" (its {len(after.limit_rules)} rule(s) for some clients or a rate-limit service stay)"
    return f"rate limit {old}→{new}"


def _mode(limit: RateLimit) -> str:
    return "off" if not limit.enabled else "shadow" if limit.shadow else "enforced"


def _cors_change(before: Cors | None, after: Cors | None) -> str:
    """``CORS origins +https://b.example -http://localhost:*; methods GET→GET, POST``: what changes."""
    if after is None:
        count = len(before.allow_origins) if before is not None else 0
        return f"CORS removed ({count} origin{'s' if count != 1 else ''})"
    if before is None:
        return "CORS added: " + "; ".join(_cors_fields(after))
    parts = []
    old, new = [str(o) for o in before.allow_origins], [str(o) for o in after.allow_origins]
    moved = [f"+{o}" for o in new if o not in old] + [f"-{o}" for o in old if o not in new]
    if moved:
        parts.append("origins " + " ".join(moved))
    elif old != new:
        parts.append("origins reordered")
    for label, name in _CORS_LISTS:
        was, now = getattr(before, name), getattr(after, name)
        if was != now:
            parts.append(f"{label} {', '.join(was) or 'none'}→{', '.join(now) or 'none'}")
    if before.max_age != after.max_age:
        parts.append(f"max age {_age(before.max_age)}→{_age(after.max_age)}")
    if before.allow_credentials != after.allow_credentials:
        parts.append(f"credentials {_on(before.allow_credentials)}→{_on(after.allow_credentials)}")
    return "CORS " + "; ".join(parts)


_CORS_LISTS = (
    ("methods", "allow_methods"),
    ("allow headers", "allow_headers"),
    ("expose headers", "expose_headers"),
)


def _cors_fields(cors: Cors) -> list[str]:
    out = [f"origins {', '.join(str(o) for o in cors.allow_origins) or 'none'}"]
    out += [f"{label} {', '.join(getattr(cors, name))}" for label, name in _CORS_LISTS if getattr(cors, name)]
    if cors.max_age is not None:
        out.append(f"max age {_age(cors.max_age)}")
    if cors.allow_credentials:
        out.append("credentials on")
    return out


def _age(seconds: float | None) -> str:
    from .model.durations import format_duration

    return "none" if seconds is None else format_duration(seconds)


def _on(value: bool) -> str:
    return "on" if value else "off"
