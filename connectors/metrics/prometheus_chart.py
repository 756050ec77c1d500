"""Chart series from Prometheus: completed steps asked once and kept, a live right edge asked every refresh.

A chart's steps end on multiples of the step (``frames.grid``: 3 s steps in the 5-minute view). A
*completed* step's point is ``rate(...[w])`` at the step's end (w = max(step, the source's rate
window of four scrape intervals)); it is asked when the step completes, asked once more with the
next one (a scrape Prometheus had not ingested yet still counts then), and kept: a refresh asks
one short range query at most, never the whole window again.

The step still running gets its point from the newest samples, one instant query per refresh:
``irate`` (the rate between the last two scrapes, the source's current figures) for responses by
class and 429s, so a weight step shows at the chart's right edge within two scrape intervals
instead of after a whole window and a step's alignment. Its latency stays ``rate(...[w])``, as on
the completed steps: the requests between two scrapes are a handful at light traffic, their
quantiles would jump from refresh to refresh, and nothing waits on the chart's latency (canary
thresholds read the snapshot).

Each of those asks is one query: the parts (classes, latency, 429s) are joined with ``or``, each
tagged with a ``PART`` label so the rows can be told apart again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import frames, histogram
from .promql import Key, MetricFamily
from .ring import Interval
from .types import CLASSES, QUANTILES, Scope

PART = "gatewayctl_part"
"""The label that tags each part's rows in a joined query."""

Labels = Mapping[str, str]
Result = list[dict[str, Any]]


@dataclass
class Point:
    """What Prometheus said about one step of one scope."""

    classes: dict[str, float] = field(default_factory=dict)  # "2xx" -> responses/s; empty: nothing known
    limited: float | None = None  # 429/s in the scope's own series (whole gateway, Istio)
    limiter: float | None = None  # the gateway's limiter (all routes), shared out by the access log
    buckets: dict[float, float] = field(default_factory=dict)  # latency bucket rates by upper bound
    _quantiles: dict[str, float | None] | None = field(default=None, repr=False, compare=False)

    def quantiles(self) -> dict[str, float | None]:
        """p50/p95/p99 of the step's latency, worked out once (a kept step is drawn every refresh)."""
        if self._quantiles is None:
            h = histogram.from_bounds(self.buckets)
            self._quantiles = {
                n: histogram.quantile(q, h[0], h[1]) if h else None for n, q in QUANTILES.items()
            }
        return self._quantiles


@dataclass
class Frame:
    """The completed steps of one scope and window already asked, by step end (whole seconds)."""

    step: float
    keys: tuple[Key, ...] | None
    points: dict[int, Point] = field(default_factory=dict)

    def missing(self, completed: tuple[float, ...]) -> tuple[float, ...]:
        """The completed steps to ask: those not kept yet and, with them, the newest one kept (it may
        have been asked before its last scrape was ingested). Drops the steps out of the window."""
        wanted = {round(t) for t in completed}
        for t in [t for t in self.points if t not in wanted]:
            del self.points[t]
        new = [t for t in completed if round(t) not in self.points]
        if not new:
            return ()
        kept = [t for t in completed if round(t) in self.points and t < new[0]]
        return tuple(t for t in completed if t >= (kept[-1] if kept else new[0]))

    def replace(self, asked: tuple[float, ...], points: Mapping[int, Point]) -> None:
        """Keep what was asked; a step Prometheus knew nothing about is kept as such (not asked again)."""
        for t in asked:
            self.points[round(t)] = points.get(round(t)) or Point()


def parts(
    family: MetricFamily,
    scope: Scope,
    keys: list[Key] | None,
    *,
    access_log: bool,
    rate_window: str,
    latency_window: str,
    fn: str,
) -> dict[str, str]:
    """The PromQL of each part of a scope's chart; ``fn`` is "rate" or "irate" (latency is always rate)."""
    if scope.route is None:
        return {
            "classes": family.gateway_classes(rate_window, fn),
            "latency": family.gateway_latency(latency_window),
            "limited": family.gateway_limited(rate_window, fn),
        }
    out: dict[str, str] = {}
    if keys:
        out["classes"] = family.classes(keys, rate_window, fn)
        out["latency"] = family.latency(keys, latency_window)
        limited = family.limited(keys, rate_window, fn)
        if limited:
            out["limited"] = limited
    if access_log:
        # Refused requests never reach a cluster: the limiter's total, shared out by the access log.
        out["limiter"] = family.gateway_limited(rate_window, fn)
    return out


def joined(queries: Mapping[str, str]) -> str:
    """One query answering every part, each row tagged with its part."""
    return " or ".join(f'label_replace({q}, "{PART}", "{name}", "", "")' for name, q in queries.items())


def read(
    rows: Result,
    family: MetricFamily,
    in_scope: Callable[[Labels], bool],
    slot: Callable[[float], int | None],
) -> dict[int, Point]:
    """The points in a joined query's rows (range: ``values``, instant: ``value``), by ``slot(time)``;
    rows outside the scope, NaN values and times without a slot are left out."""
    points: dict[int, Point] = {}
    for row in rows:
        labels: Labels = row["metric"]
        part = labels.get(PART)
        if part in ("classes", "latency", "limited") and not in_scope(labels):
            continue
        cls = family.class_of(labels) if part == "classes" else None
        le = histogram.finite_bound(labels.get("le", "+Inf")) if part == "latency" else 0.0
        for ts, v in _samples(row):
            key = slot(ts)
            if key is None:
                continue
            p = points.setdefault(key, Point())
            if part == "classes" and cls is not None:
                p.classes[cls] = p.classes.get(cls, 0.0) + v
            elif part == "latency":
                p.buckets[le] = p.buckets.get(le, 0.0) + v
            elif part == "limited":
                p.limited = (p.limited or 0.0) + v
            elif part == "limiter":
                p.limiter = (p.limiter or 0.0) + v
    return points


def _samples(row: Mapping[str, Any]) -> Iterable[tuple[float, float]]:
    raw = row.get("values") or ([row["value"]] if "value" in row else [])
    for ts, value in raw:
        v = float(value)
        if v == v:  # NaN (0/0 in a rate) counts as nothing
            yield float(ts), v


@dataclass
class AccessLog:
    """The access log's refusals per step, to share the limiter's total out to one route."""

    slots: list[Interval | None]
    fallback: float | None  # the route's recent share, for steps whose lines are not flushed yet


def values(
    scope: Scope, step: float, points: list[Point | None], log: AccessLog | None
) -> dict[str, list[float | None]]:
    """The chart's series from its points: req/s, each class, 429/s and p50/p95/p99 latency."""
    n = len(points)
    classes: dict[str, list[float | None]] = {c: [None] * n for c in CLASSES}
    limited: list[float | None] = [None] * n
    for i, p in enumerate(points):
        if p is None:
            continue
        if p.classes:
            for c in CLASSES:
                classes[c][i] = p.classes.get(c, 0.0)
        limited[i] = p.limited
    if scope.route is not None and scope.backend is None and log is not None:
        # A route's requests include those Envoy answered itself; a backend's are those that reached it.
        for i, slot in enumerate(log.slots[:n]):
            for c, count in frames.local_counts(slot, scope.route).items() if slot is not None else ():
                classes[c][i] = (classes[c][i] or 0.0) + count / step
        for i, slot in enumerate(log.slots[:n]):
            p = points[i]
            total = p.limiter if p is not None else None
            if total is None and slot is None:
                continue
            mine, everyone = frames.log_counts(slot, scope) if slot is not None else (0.0, 0.0)
            lim = frames.apportion(total, mine / step, everyone / step, log.fallback)
            limited[i] = lim
            classes["4xx"][i] = (classes["4xx"][i] or 0.0) + lim
    rps: list[float | None] = []
    for i in range(n):
        known = [v for c in CLASSES if (v := classes[c][i]) is not None]
        rps.append(sum(known) if known else None)
    out: dict[str, list[float | None]] = {"rps": rps, **classes, "limited": limited}
    quantiles = [p.quantiles() if p is not None else None for p in points]
    for name in QUANTILES:
        out[name] = [q[name] if q is not None else None for q in quantiles]
    return out
