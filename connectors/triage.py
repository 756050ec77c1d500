"""Rate-limit triage: which routes are refusing requests right now, how hard, and since when.

``triage()`` blocks (a snapshot, then one chart query per limiting route); the pure parts,
``rank()`` and ``limiting_since()``, take figures and return rows for the screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .base import Connector
from .metrics import MetricsSource, Scope, Snapshot
from .model import RateLimit, Route

STRETCH_WINDOW_S = 3600.0
"""How far back the start of the current stretch of 429s is looked for."""


@dataclass(frozen=True)
class LimitedRoute:
    """A route in the triage ranking: its 429s, traffic, limit and since when it limits."""

    route: str
    limited_rps: float  # 429/s now
    rps: float  # all requests/s now, limited ones included
    limit: RateLimit | None
    since: float | None = None  # unix time the current stretch of 429s began; None when not limiting
    since_before_window: bool = False  # the stretch began before the window looked at

    @property
    def limited_pct(self) -> float:
        return 100.0 * self.limited_rps / self.rps if self.rps > 0 else 0.0

    @property
    def limiting(self) -> bool:
        return self.limited_rps > 0

    def limiting_for(self, now: float) -> float | None:
        return None if self.since is None else max(0.0, now - self.since)


def limiting_since(
    times: Sequence[float], values: Sequence[float | None], step: float, *, gap_steps: int = 1
) -> tuple[float | None, bool]:
    """When the current stretch of 429s began, from a 429/s series (``times`` are step ends): walk back
    from the newest step with data while steps show 429s, forgiving up to ``gap_steps`` steps with
    no data. Returns (start, whether the stretch reaches back past the window); (None, False) when
    the newest data shows no 429s."""
    i = len(values) - 1
    while i >= 0 and values[i] is None:
        i -= 1
    if i < 0 or not values[i]:
        return None, False
    start = times[i] - step
    gaps = 0
    while i >= 0:
        v = values[i]
        if v is None:
            gaps += 1
            if gaps > gap_steps:
                break
        elif v > 0:
            gaps = 0
            start = times[i] - step
        else:
            break
        i -= 1
    return start, i < 0


def rank(
    routes: Sequence[Route],
    snapshot: Snapshot,
    stretches: Mapping[str, tuple[float | None, bool]] | None = None,
) -> list[LimitedRoute]:
    """Routes with a rate limit or with 429s now, the most refused first (by 429/s, then by the share
    of requests refused, then by name)."""
    stretches = stretches or {}
    rows = []
    for route in routes:
        stats = snapshot.routes.get(route.name)
        limited = stats.limited_rps if stats is not None else 0.0
        if route.rate_limit is None and limited <= 0:
            continue
        since, before = stretches.get(route.name, (None, False))
        rows.append(
            LimitedRoute(
                route=route.name,
                limited_rps=limited,
                rps=stats.rps if stats is not None else 0.0,
                limit=route.rate_limit,
                since=since if limited > 0 else None,
                since_before_window=before and limited > 0,
            )
        )
    rows.sort(key=lambda r: (-r.limited_rps, -r.limited_pct, r.route))
    return rows


def triage(
    connector: Connector, metrics: MetricsSource, window_s: float = STRETCH_WINDOW_S
) -> list[LimitedRoute]:
    """Blocking: the ranked rows for the triage screen."""
    routes = connector.list_routes()
    snapshot = metrics.snapshot()
    stretches = {}
    for name, stats in snapshot.routes.items():
        if stats.limited_rps > 0:
            data = metrics.series(Scope(name), window_s)
            if data.ok:
                stretches[name] = limiting_since(data.times, data.values("limited"), data.step_s)
    return rank(routes, snapshot, stretches)
