"""Latency quantiles from bucketed histograms, the way Prometheus' ``histogram_quantile`` computes them.

Both sources use this: Envoy's admin endpoint and Prometheus hand out the same cumulative buckets
(upper bounds in milliseconds), so a p99 reads the same whichever source computed it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Buckets = tuple[float, ...]
"""Per-bucket counts (not cumulative), one per upper bound plus a last one for +Inf."""


def quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """The ``q`` quantile (0..1) of observations spread over ``counts``; None when there are none.

    ``bounds`` are the finite upper bounds in increasing order; ``counts`` has one more entry, the
    +Inf bucket. Within a bucket the observations are assumed evenly spread (linear interpolation);
    a rank in the +Inf bucket answers the highest finite bound, as Prometheus does.
    """
    total = sum(counts)
    if total <= 0 or not bounds:
        return None
    rank = q * total
    seen = 0.0
    for i, count in enumerate(counts):
        if count <= 0:
            continue
        if seen + count >= rank:
            if i >= len(bounds):
                return float(bounds[-1])
            lower = float(bounds[i - 1]) if i > 0 else 0.0
            upper = float(bounds[i])
            return lower + (upper - lower) * max(0.0, rank - seen) / count
        seen += count
    return float(bounds[-1])


def from_cumulative(cumulative: Sequence[float]) -> Buckets:
    """Per-bucket counts from cumulative ones (each bucket counts everything at or below its bound)."""
    out = []
    prev = 0.0
    for c in cumulative:
        out.append(max(0.0, c - prev))
        prev = max(prev, c)
    return tuple(out)


def from_bounds(by_le: Mapping[float, float]) -> tuple[tuple[float, ...], Buckets] | None:
    """(finite bounds, per-bucket counts) from cumulative counts by upper bound, +Inf (``math.inf``)
    included, the way Prometheus hands out ``_bucket`` series; None when there are none."""
    if not by_le:
        return None
    bounds = tuple(sorted(le for le in by_le if le != math.inf))
    last = by_le.get(math.inf, by_le[bounds[-1]] if bounds else 0.0)
    return bounds, from_cumulative([*(by_le[b] for b in bounds), last])


def add(a: Buckets | None, b: Buckets | None) -> Buckets | None:
    if a is None:
        return b
    if b is None or len(a) != len(b):
        return a
    return tuple(x + y for x, y in zip(a, b, strict=True))


def delta(prev: Buckets | None, cur: Buckets, reset: bool) -> Buckets:
    """Observations between two readings of the same histogram. A bucket that went down means the
    process restarted: count from zero rather than report negative observations."""
    if prev is None or reset or len(prev) != len(cur) or any(c < p for p, c in zip(prev, cur, strict=True)):
        return cur
    return tuple(c - p for p, c in zip(prev, cur, strict=True))


def finite_bound(value: str | float) -> float:
    """A bucket bound as a float; "+Inf" becomes ``math.inf``."""
    return float(value) if not isinstance(value, str) or value not in ("+Inf", "Inf") else math.inf
