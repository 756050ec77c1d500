"""A local rate limit as Envoy runs it: a token bucket holding ``max_tokens`` (the burst), refilled
with ``tokens_per_fill`` (the requests) every ``fill_interval``, never above ``max_tokens``.

A bucket smaller than one fill caps the rate at the bucket: 50 requests a second with a burst of 20
lets through at most 20 a second, whatever the operator typed. Every connector refuses an edit that
asks for that (``bucket_problems``, naming ``rate_limit.burst``) and says in its plan what bucket
the route gets (``bucket_note``); the console's form and ``set-rate-limit`` raise a burst the
operator did not set to the new rate (``follow_rate``), which the note then says.
"""

from __future__ import annotations

from ..errors import Problem
from .durations import format_duration
from .types import RateLimit

RAISED = "raised to the new rate"


def per(interval: float) -> str:
    """``second`` for 1s, else the interval as written (``1m``, ``250ms``)."""
    return "second" if interval == 1 else format_duration(interval)


def _numbers(limit: RateLimit) -> tuple[int, float, int]:
    return limit.requests, limit.interval, limit.bucket_size


def bucket_problems(before: RateLimit | None, after: RateLimit | None, path: str) -> list[Problem]:
    """``after``'s burst when it is below its requests and this edit asks for those numbers
    (``path``: the limit's, e.g. ``routes.api.rate_limit``). Switching a limit off, on or to shadow
    without touching its numbers is not refused: the edit did not ask for that bucket."""
    if after is None or after.burst is None or after.burst >= after.requests:
        return []
    if before is not None and _numbers(before) == _numbers(after):
        return []
    every = per(after.interval)
    return [
        Problem(
            f"{path}.burst",
            f"{after.burst} is smaller than the {after.requests} requests per {every}: the bucket "
            f"never holds more than {after.burst}, so the route would pass {after.burst} per {every}, "
            f"not {after.requests}; make the burst at least {after.requests}, or leave it empty "
            "(= requests)",
        )
    ]


def follow_rate(before: RateLimit | None, requests: int, burst: int | None) -> int | None:
    """The burst for an edit where the operator left the burst as it was: kept while it holds at
    least one fill, else None (the bucket follows the requests; the plan says it was raised)."""
    if burst is not None and burst < requests and before is not None and before.burst == burst:
        return None
    return burst


def bucket_note(route: str, before: RateLimit | None, after: RateLimit | None) -> str | None:
    """What the plan says about the bucket an edit gives ``route``, when it changes the limit's
    numbers: ``rate limit of api: burst 20 → 50 (raised to the new rate): the bucket holds 50
    requests, refilled with 50 every second``. None when the numbers stay, for a new or removed
    limit, and when neither side sets a burst (the bucket is one fill, as the limit reads)."""
    if after is None or before is None or _numbers(before) == _numbers(after):
        return None
    if before.burst is None and after.burst is None:
        return None
    bucket, was = after.bucket_size, before.bucket_size
    holds = f"the bucket holds {bucket} requests, refilled with {after.requests} every {per(after.interval)}"
    if was == bucket:
        burst = f"burst stays {bucket}"
    elif after.burst is None and before.burst is not None and before.burst < after.requests:
        burst = f"burst {was} → {bucket} ({RAISED})"
    elif after.burst is None:
        burst = f"burst {was} → {bucket} (it follows the requests when none is given)"
    else:
        burst = f"burst {was} → {bucket}"
    return f"rate limit of {route}: {burst}: {holds}"
