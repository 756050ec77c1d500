"""The lines under an applied change's result: only what the change changed.

The connector's verification says what it checked of each route (``api: weights v1 100``, ``api:
rate limit 50/s``). A rate-limit-only change listed the weights it did not touch and left out the
burst Envoy now runs; here a route's lines keep the aspects the plan changed (every line saying
something is wrong stays), and a rate limit says its bucket."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import Plan
from connectors.model import RateLimit, Route

# The verification's words for each aspect, and the route fields that make it.
ASPECTS = {
    "weights ": ("backends",),
    "CORS ": ("cors",),
    "rate limit ": ("rate_limit",),
    "denies ": ("deny",),
    "fault ": ("fault",),
}


def changed_details(details: Sequence[str], plan: Plan) -> list[str]:
    """``details`` without the lines about aspects of a route the plan left as they were."""
    routes = {c.after.name: c for c in plan.changes}
    out: list[str] = []
    for line in details:
        name, sep, part = line.partition(": ")
        change = routes.get(name)
        if not sep or change is None:
            out.append(line)
            continue
        kept = _part(part, change.before, change.after)
        if kept is not None:
            out.append(f"{name}: {kept}")
    # A change of something the verification does not list (a timeout): say the route was checked.
    for name in routes:
        if any(line.startswith(f"{name}: ") for line in details) and not any(
            line.startswith(f"{name}: ") for line in out
        ):
            out.append(f"{name}: in effect")
    return out


def _part(part: str, before: Route, after: Route) -> str | None:
    """The part as shown, or None when it is about an aspect this change did not touch."""
    for prefix, names in ASPECTS.items():
        if part.startswith(prefix):
            if all(getattr(before, f) == getattr(after, f) for f in names):
                return None
            if prefix == "rate limit " and after.rate_limit is not None:
                return prefix + with_bucket(after.rate_limit)
            return part
    return part  # a line that says something else (a mismatch): always kept


def with_bucket(limit: RateLimit) -> str:
    """``50/s burst 50``: the limit with the bucket Envoy runs always said (``describe`` leaves out a
    burst equal to the requests, which hid a burst raised to the new rate)."""
    text = limit.describe()
    if " burst " in text:
        return text
    rate, sep, tail = text.partition(" (")
    return f"{rate} burst {limit.bucket_size}{sep}{tail}"
