"""A bounded history of what happened between polls, so charts have a past without a Prometheus.

Each ``Interval`` holds the counts observed between two polls (counter deltas, histogram bucket
deltas, rate-limited clients). The last hour is kept at poll resolution; older intervals are merged
into one-minute intervals kept for a day, so memory stays bounded (about 5,000 intervals).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from . import histogram
from .histogram import Buckets

Key = tuple[str, ...]
ClientKey = tuple[str, str, str]  # (route, "source" or header name, shown value)


@dataclass
class Interval:
    """Counts, histograms and clients seen between two admin polls."""

    start: float
    end: float
    counts: dict[Key, float] = field(default_factory=dict)
    hists: dict[Key, Buckets] = field(default_factory=dict)
    clients: Counter[ClientKey] = field(default_factory=Counter)

    @property
    def seconds(self) -> float:
        return max(1e-9, self.end - self.start)

    def merge(self, other: Interval) -> None:
        self.start = min(self.start, other.start)
        self.end = max(self.end, other.end)
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0.0) + v
        for k, h in other.hists.items():
            merged = histogram.add(self.hists.get(k), h)
            if merged is not None:
                self.hists[k] = merged
        self.clients.update(other.clients)


def merged(intervals: Iterable[Interval]) -> Interval | None:
    out: Interval | None = None
    for iv in intervals:
        if out is None:
            out = Interval(iv.start, iv.end)
        out.merge(iv)
    return out


class History:
    """Intervals in time order. Counts may be added to a recent interval afterwards (``add_at``):
    access-log records arrive when Envoy flushes the log, seconds after the requests, and belong to
    the interval in which the request happened. Intervals are merged into the coarse tier only once
    they are older than ``settle_s``, so late counts still reach both tiers."""

    def __init__(
        self,
        fine_s: float = 3600.0,
        coarse_step_s: float = 60.0,
        coarse_s: float = 86400.0,
        settle_s: float = 30.0,
    ) -> None:
        self.fine_s = fine_s
        self.coarse_step_s = coarse_step_s
        self.settle_s = settle_s
        self._fine: deque[Interval] = deque()
        self._unsettled: deque[Interval] = deque()
        self._coarse: deque[Interval] = deque(maxlen=int(coarse_s // coarse_step_s) + 1)
        self._pending: Interval | None = None
        self._trimmed = False  # whether the fine tier has dropped anything yet

    def add(self, iv: Interval) -> None:
        self._fine.append(iv)
        self._unsettled.append(iv)
        while self._unsettled and self._unsettled[0].end < iv.end - self.settle_s:
            old = self._unsettled.popleft()
            if self._pending is None:
                self._pending = Interval(old.start, old.end)
            self._pending.merge(old)
            if self._pending.end - self._pending.start >= self.coarse_step_s:
                self._coarse.append(self._pending)
                self._pending = None
        while self._fine and self._fine[0].end < iv.end - self.fine_s:
            self._fine.popleft()
            self._trimmed = True

    def find(self, when: float | None) -> Interval | None:
        """The unsettled interval that holds time ``when`` (the latest for None or a time after it);
        None when ``when`` is older than every unsettled interval."""
        if not self._unsettled:
            return None
        if when is None or when > self._unsettled[-1].start:
            return self._unsettled[-1]
        for iv in reversed(self._unsettled):
            if iv.start < when <= iv.end:
                return iv
            if iv.end < when:
                return iv  # a gap between polls: the next interval before it
        return None

    def intervals(self, since: float) -> list[Interval]:
        """Intervals ending after ``since``: poll resolution when the fine tier reaches back that far."""
        if self._fine and (self._fine[0].start <= since or not self._trimmed):
            return [iv for iv in self._fine if iv.end > since]
        out = [iv for iv in self._coarse if iv.end > since]
        if self._pending is not None:
            out.append(self._pending)
        out += [iv for iv in self._unsettled if iv.end > since]
        return out

    @property
    def latest(self) -> Interval | None:
        return self._fine[-1] if self._fine else None

    def buckets(self, since: float, until: float, step: float) -> list[Interval | None]:
        """The intervals between ``since`` and ``until`` merged into steps of ``step`` seconds (by
        each interval's end time); None for a step with no data."""
        n = max(1, round((until - since) / step))
        slots: list[list[Interval]] = [[] for _ in range(n)]
        for iv in self.intervals(since):
            i = int((iv.end - since) / step)
            if 0 <= i < n:
                slots[i].append(iv)
            elif i == n:
                slots[-1].append(iv)
        return [merged(s) for s in slots]


def total(intervals: Iterable[Interval | None], keys: Iterable[Hashable]) -> float:
    wanted = set(keys)
    return sum(v for iv in intervals if iv is not None for k, v in iv.counts.items() if k in wanted)
