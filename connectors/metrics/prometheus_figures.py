"""Turning Prometheus answers into the figures a snapshot shows (per backend, per route)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import histogram
from .types import QUANTILES, BackendStats, RouteStats

Result = list[dict[str, Any]]


def value(row: Mapping[str, Any]) -> float:
    v = float(row["value"][1])
    return v if v == v else 0.0  # NaN (0/0 in a rate) counts as nothing


def scalar(rows: Result) -> float:
    return sum(value(r) for r in rows)


hist = histogram.from_bounds


def _quantiles(h: tuple[tuple[float, ...], histogram.Buckets] | None) -> dict[str, float | None]:
    return {n: (histogram.quantile(q, h[0], h[1]) if h else None) for n, q in QUANTILES.items()}


def backend_stats(
    name: str, classes: Mapping[str, float], h: tuple[tuple[float, ...], histogram.Buckets] | None
) -> BackendStats:
    total = sum(classes.values())
    q = _quantiles(h)
    return BackendStats(
        backend=name,
        rps=total,
        by_class=dict(classes),
        error_pct=100.0 * classes.get("5xx", 0.0) / total if total > 0 else 0.0,
        p50_ms=q["p50"],
        p95_ms=q["p95"],
        p99_ms=q["p99"],
    )


def route_stats(
    name: str,
    classes: Mapping[str, float],
    limited: float,
    h: tuple[tuple[float, ...], histogram.Buckets] | None,
    backends: dict[str, BackendStats],
) -> RouteStats:
    total = sum(classes.values())
    q = _quantiles(h)
    return RouteStats(
        route=name,
        rps=total,
        by_class=dict(classes),
        error_pct=100.0 * classes.get("5xx", 0.0) / total if total > 0 else 0.0,
        limited_rps=limited,
        p50_ms=q["p50"],
        p95_ms=q["p95"],
        p99_ms=q["p99"],
        backends=backends,
    )
