"""The side-by-side view of a canary: each backend's declared weight beside what traffic shows.

The observed split is over the requests since the step began (``MetricsSource.counts``), not a
1-second rate that flickers 0 / 50 / 100 % at light traffic; rates, error % and p99 come from the
source's current figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .metrics import RouteStats, Snapshot
from .metrics.counts import RouteCounts
from .model import Route, WeightedBackend


@dataclass(frozen=True)
class BackendView:
    """One side of the side-by-side view: declared weight and what the metrics observe."""

    backend: str
    declared_pct: float
    observed_pct: float | None  # share of the route's requests this backend served
    rps: float | None = None  # None: no figures (no snapshot), never a 0.0 that looks measured
    error_pct: float | None = None
    p99_ms: float | None = None
    requests: int | None = None  # since the step began, when counted

    def counted(self, reached: Mapping[str, int]) -> BackendView:
        """This view with the split observed over ``reached`` (requests per backend since the step)."""
        total = sum(reached.values())
        mine = reached.get(self.backend, 0)
        observed = 100.0 * mine / total if total else None
        return BackendView(
            self.backend, self.declared_pct, observed, self.rps, self.error_pct, self.p99_ms, mine
        )


def side_by_side(
    route: str,
    stable: str,
    canary: str,
    canary_weight: float,
    snapshot: Snapshot | None,
    counts: RouteCounts | None = None,
) -> tuple[BackendView, BackendView]:
    """Stable and canary views of ``route`` from a metrics snapshot (observed figures None without);
    with ``counts`` (since the step began) the observed split is theirs."""
    stats = snapshot.routes.get(route) if snapshot is not None and snapshot.ok else None
    views = (
        _view(stable, 100 - canary_weight, stats, (stable, canary)),
        _view(canary, canary_weight, stats, (stable, canary)),
    )
    if counts is None:
        return views
    reached = {b: c.requests for b, c in counts.backends.items() if b in (stable, canary)}
    return views[0].counted(reached), views[1].counted(reached)


def pick_backends(route: Route) -> tuple[str, str] | None:
    """The natural (stable, canary) pair of a route: the heaviest backend is stable, the next the
    canary; None for a route with a single backend."""
    ordered = sorted(route.backends, key=lambda b: -b.weight)
    return (ordered[0].name, ordered[1].name) if len(ordered) >= 2 else None


def weight_of(route: Route, backend: str) -> int:
    return round(route.weight_share().get(backend, 0.0))


def weights(route: Route, stable: str, canary: str, weight: int) -> tuple[WeightedBackend, ...]:
    """Percent weights with ``weight`` on the canary, the rest on stable, 0 elsewhere (the route's
    weight mode is kept: relative weights are written as the same percentages)."""
    out = []
    for b in route.backends:
        w = weight if b.name == canary else 100 - weight if b.name == stable else 0
        out.append(WeightedBackend(b.name, w))
    return tuple(out)


def _view(name: str, declared: float, stats: RouteStats | None, pair: Sequence[str]) -> BackendView:
    if stats is None:
        return BackendView(name, declared, None)
    b = stats.backends.get(name)
    total = sum(s.rps for n, s in stats.backends.items() if n in pair)
    observed = 100.0 * b.rps / total if b is not None and total > 0 else (0.0 if total > 0 else None)
    if b is None:  # figures for the route, none for this backend: it served nothing
        return BackendView(name, declared, observed, 0.0, 0.0)
    return BackendView(name, declared, observed, b.rps, b.error_pct, b.p99_ms)
