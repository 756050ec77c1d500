"""``EnvoyAdminSource.counts``: requests per route and backend since a time, from Envoy's counters.

Three ways to the counts since ``since``, the first that can answer:

1. ``since`` is None or before Envoy started: Envoy's cumulative counters as read now.
2. The source has been polling since before ``since``: the poll history's counter deltas.
3. Otherwise (a headless command started after the change): the gateway's access log, which names
   the backend each request reached.

Requests Envoy answered itself come from the access log in every case (``counts.LogCounter``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from . import histogram
from .counts import BackendCounts, Target
from .ring import Interval, Key


def cumulative(
    counters: Mapping[Key, float], hists: Mapping[Key, tuple[float, ...]], bounds: tuple[float, ...]
) -> dict[Target, BackendCounts]:
    """Per-backend counts from one reading's cumulative counters (everything since Envoy started)."""
    return _backends(counters, {k: histogram.from_cumulative(h) for k, h in hists.items()}, bounds)


def from_history(intervals: Iterable[Interval], bounds: tuple[float, ...]) -> dict[Target, BackendCounts]:
    """Per-backend counts summed over the poll intervals (counter deltas)."""
    counters: dict[Key, float] = defaultdict(float)
    hists: dict[Key, histogram.Buckets] = {}
    for iv in intervals:
        for k, v in iv.counts.items():
            if k[0] == "up":
                counters[k] += v
        for k, h in iv.hists.items():
            if k[0] == "up":
                merged = histogram.add(hists.get(k), h)
                if merged is not None:
                    hists[k] = merged
    return _backends(counters, hists, bounds)


def _backends(
    counters: Mapping[Key, float], hists: Mapping[Key, histogram.Buckets], bounds: tuple[float, ...]
) -> dict[Target, BackendCounts]:
    requests: dict[Target, float] = defaultdict(float)
    errors: dict[Target, float] = defaultdict(float)
    for k, v in counters.items():
        if k[0] != "up" or len(k) != 4:
            continue
        requests[(k[1], k[2])] += v
        if k[3] == "5xx":
            errors[(k[1], k[2])] += v
    out = {}
    for t, n in requests.items():
        h = hists.get(("up", *t))
        p99 = histogram.quantile(0.99, bounds, h) if h else None
        out[t] = BackendCounts(t[1], round(n), round(errors[t]), p99)
    return out
