"""Live figures for routes and backends, the same shape whatever the metrics source."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackendStats:
    """Live figures of one backend of a route."""

    backend: str
    rps: float = 0.0
    by_class: dict[str, float] = field(default_factory=dict)  # "2xx" -> requests/s
    error_pct: float = 0.0  # 5xx share of responses, percent
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class RouteStats:
    """Live figures of one route, and of each of its backends."""

    route: str
    rps: float = 0.0
    by_class: dict[str, float] = field(default_factory=dict)
    error_pct: float = 0.0
    limited_rps: float = 0.0  # 429/s from the gateway's rate limiter
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    backends: dict[str, BackendStats] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """Figures over the interval since the previous snapshot (or the query's rate window)."""

    time: float
    routes: dict[str, RouteStats]
    source: str  # "envoy-admin" or "prometheus"
    # "ok", or "no data since HH:MM:SS: reason" when the source failed (then ``routes`` is empty).
    status: str = "ok"
    # Totals over the whole gateway (every listener), when the source knows them.
    gateway: RouteStats | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# -- charts ----------------------------------------------------------------------------------

WINDOWS: dict[str, float] = {"5m": 300.0, "1h": 3600.0, "6h": 21600.0, "24h": 86400.0}
"""The chart windows an operator can switch between, by label."""

CLASSES: tuple[str, ...] = ("1xx", "2xx", "3xx", "4xx", "5xx")
QUANTILES: dict[str, float] = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class Scope:
    """What a chart shows: the whole gateway, one route, or one backend of a route."""

    route: str | None = None
    backend: str | None = None

    def __post_init__(self) -> None:
        if self.backend is not None and self.route is None:
            raise ValueError("a backend scope needs its route")

    @property
    def kind(self) -> str:
        return "gateway" if self.route is None else "route" if self.backend is None else "backend"

    @property
    def label(self) -> str:
        if self.route is None:
            return "whole gateway"
        return f"route {self.route}" if self.backend is None else f"route {self.route} → {self.backend}"


GATEWAY = Scope()


@dataclass(frozen=True)
class Series:
    """One line of a chart. ``values`` line up with ``ChartData.times``; None where nothing is known."""

    key: str  # "rps", "2xx", ..., "limited", "p50", "p95", "p99"
    label: str  # legend text
    unit: str  # "req/s" or "ms"
    values: tuple[float | None, ...]

    @property
    def last(self) -> float | None:
        for v in reversed(self.values):
            if v is not None:
                return v
        return None

    def total(self, step_s: float) -> float:
        """For a rate series: the number of events over the window (rate times step, summed)."""
        return sum(v * step_s for v in self.values if v is not None)


SERIES_LABELS: dict[str, tuple[str, str]] = {
    "rps": ("requests/s", "req/s"),
    **{c: (f"{c} responses/s", "req/s") for c in CLASSES},
    "limited": ("rate-limited (429)/s", "req/s"),
    **{q: (f"{q} latency", "ms") for q in QUANTILES},
}


@dataclass(frozen=True)
class ChartData:
    """Everything a chart of one scope over one window shows; ``status`` is "ok" or why data is missing."""

    scope: Scope
    window_s: float
    step_s: float
    times: tuple[float, ...]  # unix seconds, the end of each step
    series: tuple[Series, ...]
    source: str
    status: str = "ok"
    # The last point is the step still running, from the newest samples (the source's current
    # figures) rather than a whole step: it moves with every refresh.
    live: bool = False

    def get(self, key: str) -> Series | None:
        for s in self.series:
            if s.key == key:
                return s
        return None

    def values(self, key: str) -> tuple[float | None, ...]:
        found = self.get(key)
        return found.values if found is not None else (None,) * len(self.times)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def make_series(key: str, values: tuple[float | None, ...]) -> Series:
    label, unit = SERIES_LABELS.get(key, (key, ""))
    return Series(key, label, unit, values)
