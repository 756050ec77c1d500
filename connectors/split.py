"""Did traffic move? The split of a route's requests since its last weight change, with a verdict.

Per backend: the requests that reached it since the change (counter deltas from the metrics
source, ``MetricsSource.counts``), its share of them, and a 95 % Wilson score interval for that
share. The verdict:

    too-few        fewer requests than a fair judgement needs: at least ``MIN_REQUESTS`` in all
                   and ``MIN_EXPECTED`` expected on each side of every split weight (a 1 % canary
                   needs 1,000 requests before a verdict means anything)
    consistent     every backend's declared weight lies inside its interval
    inconsistent   some backend's declared weight lies outside (the gateway does not serve what
                   it declares, or something else sends traffic to a backend)

With more than two backends each interval is widened (Bonferroni: 95 % over all of them together),
so a route with five backends is not called inconsistent one time in four by chance.

``judge`` is pure (figures in, verdict out); ``split_since_change`` blocks (history, counters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

from .base import Connector, describe_change
from .errors import MetricsError
from .history import HistoryEntry
from .metrics import MetricsSource
from .model import route_from_dict

Verdict = Literal["consistent", "inconsistent", "too-few"]
CONFIDENCE = 0.95
MIN_REQUESTS = 50
MIN_EXPECTED = 10


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval (fractions 0..1) for ``k`` successes in ``n`` trials."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At k = 0 or k = n the exact bound is 0 or 1: rounding must not move it off.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


@dataclass(frozen=True)
class BackendSplit:
    """One backend: declared weight, requests since the change, observed share and its interval."""

    backend: str
    declared_pct: float
    requests: int
    observed_pct: float | None  # None before any request
    interval: tuple[float, float] | None  # percent, None before any request

    @property
    def consistent(self) -> bool:
        return self.interval is None or self.interval[0] <= self.declared_pct <= self.interval[1]


@dataclass(frozen=True)
class Judgement:
    """The verdict on one split and the sentence that says it."""

    verdict: Verdict
    backends: tuple[BackendSplit, ...]
    requests: int
    needed: int  # requests a verdict needs at these weights
    message: str


def needed(declared: Mapping[str, float]) -> int:
    """Requests needed before a verdict: ``MIN_REQUESTS``, and ``MIN_EXPECTED`` expected on each
    side of every weight strictly between 0 and 100 %."""
    split = [p for p in declared.values() if 0 < p < 100]
    smallest = min((min(p, 100 - p) for p in split), default=100.0)
    return max(MIN_REQUESTS, math.ceil(MIN_EXPECTED * 100 / smallest))


def judge(declared: Mapping[str, float], requests: Mapping[str, int]) -> Judgement:
    """The verdict on ``requests`` per backend against ``declared`` weights (percent)."""
    names = [*declared, *(b for b in requests if b not in declared)]
    n = sum(requests.get(b, 0) for b in names)
    confidence = 1 - (1 - CONFIDENCE) / max(1, len(names) - 1) if len(names) > 2 else CONFIDENCE
    rows = []
    for b in names:
        k = requests.get(b, 0)
        lo, hi = wilson(k, n, confidence)
        rows.append(
            BackendSplit(
                b,
                float(declared.get(b, 0.0)),
                k,
                100.0 * k / n if n else None,
                (100.0 * lo, 100.0 * hi) if n else None,
            )
        )
    want = needed(declared)
    if n < want:
        message = f"too few requests yet ({n:,} of the {want:,} a verdict needs)"
        return Judgement("too-few", tuple(rows), n, want, message)
    off = [r for r in rows if not r.consistent]
    if off:
        # The furthest off; between equals, the one declared lower (a 0 % backend that got traffic).
        worst = max(off, key=lambda r: (abs((r.observed_pct or 0.0) - r.declared_pct), -r.declared_pct))
        return Judgement("inconsistent", tuple(rows), n, want, _sentence(worst, n, False))
    return Judgement("consistent", tuple(rows), n, want, _sentence(_headline(rows), n, True))


def _headline(rows: Sequence[BackendSplit]) -> BackendSplit:
    """The backend a sentence names: the smallest share above 0 % (the canary), else the first."""
    split = [r for r in reversed(rows) if r.declared_pct > 0]  # between equals, the later one
    return min(split, key=lambda r: r.declared_pct) if split else rows[0]


def _sentence(row: BackendSplit, n: int, consistent: bool) -> str:
    observed = f"{row.backend} {_pct(row.observed_pct or 0.0)} % of {n:,} requests"
    if consistent:
        return f"{observed} — consistent with {_pct(row.declared_pct)} %"
    lo, hi = row.interval or (0.0, 100.0)
    return (
        f"{observed} — not consistent with {_pct(row.declared_pct)} % (95 % interval {_pct(lo)}-{_pct(hi)} %)"
    )


def _pct(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") if value not in (0.0, 100.0) else f"{value:.0f}"


# -- the change it counts from ------------------------------------------------------------------


def _weights(route: Mapping[str, Any] | None) -> Any:
    if route is None:
        return None
    return ([(b.get("name"), b.get("weight")) for b in route.get("backends") or []], route.get("weight_mode"))


def what_changed(entry: HistoryEntry) -> str:
    """The entry's change as ``:history`` says it; an undo (a time box's revert) says which change it
    undid, then what it did (its own before → after, not the undone change's arrows)."""
    if entry.action != "undo":
        return entry.description
    befores = {d.get("name"): d for d in entry.before}
    done = [
        describe_change(route_from_dict(befores[a["name"]]), route_from_dict(a))
        for a in entry.after
        if a.get("name") in befores
    ]
    undid = f"undid {entry.undoes[:8]}" if entry.undoes else "undo"
    return f"{undid} · {'; '.join(done) or entry.description}"


def last_weight_change(entries: Sequence[HistoryEntry], route: str) -> HistoryEntry | None:
    """The newest history entry that changed ``route``'s weights (an apply or an undo)."""
    for e in reversed(entries):
        if route not in e.routes:
            continue
        before = next((d for d in e.before if d.get("name") == route), None)
        after = next((d for d in e.after if d.get("name") == route), None)
        if after is not None and _weights(before) != _weights(after):
            return e
    return None


@dataclass(frozen=True)
class SplitReport:
    """``split ROUTE``: the judgement, what it counts from, and where the counts came from."""

    route: str
    change: HistoryEntry | None  # None: no weight change recorded, counted since the gateway started
    judgement: Judgement
    route_requests: int  # every request of the route, those Envoy answered itself included
    source: str
    basis: str
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        j = self.judgement
        change = self.change
        return {
            "route": self.route,
            "change": None
            if change is None
            else {"id": change.id, "time": change.time, "description": change.description},
            "backends": [
                {
                    "backend": b.backend,
                    "declared_pct": b.declared_pct,
                    "requests": b.requests,
                    "observed_pct": None if b.observed_pct is None else round(b.observed_pct, 2),
                    "interval": None
                    if b.interval is None
                    else [round(b.interval[0], 2), round(b.interval[1], 2)],
                }
                for b in j.backends
            ],
            "requests": j.requests,
            "route_requests": self.route_requests,
            "needed": j.needed,
            "verdict": j.verdict,
            "message": j.message,
            "source": self.source,
            "basis": self.basis,
            "warnings": list(self.warnings),
        }


def split_since_change(connector: Connector, metrics: MetricsSource, route: str) -> SplitReport:
    """Blocking: the route's split since its last weight change. Raises NotFound for an unknown
    route and MetricsError when the source cannot count."""
    current = connector.get_route(route)
    change = last_weight_change(connector.history(), route)
    # Strict: from the first reading after the change. The reading before it holds up to a second
    # of the old split, which made a fair new split look inconsistent under traffic.
    counts = metrics.counts(change.time if change is not None else None, strict=True)
    if not counts.ok:
        raise MetricsError(counts.status)
    declared = current.weight_share()
    mine = counts.routes.get(route)
    requests = {b: c.requests for b, c in mine.backends.items()} if mine is not None else {}
    warnings = []
    if change is not None:
        after = next((d for d in change.after if d.get("name") == route), None)
        applied = {b["name"]: b.get("weight") for b in (after or {}).get("backends") or []}
        if applied != {b.name: b.weight for b in current.backends}:
            warnings.append(
                f"the weights of {route} changed outside this tool after that change; "
                "the split is judged against the current ones"
            )
    return SplitReport(
        route,
        change,
        judge(declared, requests),
        mine.requests if mine is not None else 0,
        counts.source,
        counts.basis,
        tuple(warnings),
    )
