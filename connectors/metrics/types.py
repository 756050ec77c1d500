"""Live figures for routes and backends, the same shape whatever the metrics source."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackendStats:
    backend: str
    rps: float = 0.0
    by_class: dict[str, float] = field(default_factory=dict)  # "2xx" -> requests/s
    error_pct: float = 0.0  # 5xx share of responses, percent
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True)
class RouteStats:
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
