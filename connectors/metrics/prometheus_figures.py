"""Turning Prometheus answers into the figures a snapshot shows (per backend, per route, for the
whole gateway)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import histogram
from .promql import Labels, Target
from .types import CLASSES, QUANTILES, BackendStats, RouteStats

Result = list[dict[str, Any]]
TargetOf = Callable[[Labels], Target | None]
ClassOf = Callable[[Labels], str | None]


def value(row: Mapping[str, Any]) -> float:
    v = float(row["value"][1])
    return v if v == v else 0.0  # NaN (0/0 in a rate) counts as nothing


def scalar(rows: Result) -> float:
    return sum(value(r) for r in rows)


hist = histogram.from_bounds


def _figures(
    classes: Mapping[str, float], h: tuple[tuple[float, ...], histogram.Buckets] | None
) -> dict[str, Any]:
    """What a backend's and a route's figures share: the rate, by class, error share and quantiles."""
    total = sum(classes.values())
    q = {n: (histogram.quantile(p, h[0], h[1]) if h else None) for n, p in QUANTILES.items()}
    return {
        "rps": total,
        "by_class": dict(classes),
        "error_pct": 100.0 * classes.get("5xx", 0.0) / total if total > 0 else 0.0,
        "p50_ms": q["p50"],
        "p95_ms": q["p95"],
        "p99_ms": q["p99"],
    }


def backend_stats(
    name: str, classes: Mapping[str, float], h: tuple[tuple[float, ...], histogram.Buckets] | None
) -> BackendStats:
    return BackendStats(backend=name, **_figures(classes, h))


def route_stats(
    name: str,
    classes: Mapping[str, float],
    limited: float,
    h: tuple[tuple[float, ...], histogram.Buckets] | None,
    backends: dict[str, BackendStats],
) -> RouteStats:
    return RouteStats(route=name, limited_rps=limited, backends=backends, **_figures(classes, h))


@dataclass(frozen=True)
class PerTarget:
    """The current answers by (route, backend) target: rates by class, cumulative latency buckets by
    upper bound, and the rate refused by the limiter."""

    classes: defaultdict[Target, dict[str, float]]
    hists: defaultdict[Target, dict[float, float]]
    limited: defaultdict[Target, float]

    @classmethod
    def read(
        cls, classes: Result, latency: Result, limited: Result, target: TargetOf, class_of: ClassOf
    ) -> PerTarget:
        per = cls(defaultdict(lambda: dict.fromkeys(CLASSES, 0.0)), defaultdict(dict), defaultdict(float))
        for r in classes:
            t, c = target(r["metric"]), class_of(r["metric"])
            if t is not None and c is not None:
                per.classes[t][c] += value(r)
        for r in latency:
            t = target(r["metric"])
            if t is not None:
                le = histogram.finite_bound(r["metric"].get("le", "+Inf"))
                per.hists[t][le] = per.hists[t].get(le, 0.0) + value(r)
        for r in limited:
            t = target(r["metric"])
            if t is not None:
                per.limited[t] += value(r)
        return per

    def routes(self) -> dict[str, list[Target]]:
        """Each route answered for, with its targets in the order they were first seen."""
        routes: dict[str, list[Target]] = defaultdict(list)
        for t in [*self.classes, *self.hists, *self.limited]:
            if t not in routes[t[0]]:
                routes[t[0]].append(t)
        return routes

    def limited_of(self, route: str) -> float:
        return sum(v for t, v in self.limited.items() if t[0] == route)

    def route(
        self, route: str, targets: list[Target], limited: float, extra: Iterable[Mapping[str, float]]
    ) -> RouteStats:
        """The figures of ``route`` from its ``targets``, with ``extra`` rates by class added in turn
        (requests the clusters did not count: refused by the limiter, answered by Envoy itself)."""
        backends = {}
        for t in targets:
            if t[1]:
                backends[t[1]] = backend_stats(t[1], self.classes[t], hist(self.hists[t]))
        classes_sum = dict.fromkeys(CLASSES, 0.0)
        merged: dict[float, float] = {}
        for t in targets:
            for c, v in self.classes[t].items():
                classes_sum[c] += v
            for le, v in self.hists[t].items():
                merged[le] = merged.get(le, 0.0) + v
        for rates in extra:
            for c, v in rates.items():
                classes_sum[c] += v
        return route_stats(route, classes_sum, limited, hist(merged), backends)


def gateway_stats(classes: Result, latency: Result, limited: float, class_of: ClassOf) -> RouteStats:
    """The whole gateway's figures (named ``""``) from its own answers."""
    gw = dict.fromkeys(CLASSES, 0.0)
    for r in classes:
        c = class_of(r["metric"])
        if c is not None:
            gw[c] += value(r)
    gw_hist = {histogram.finite_bound(r["metric"].get("le", "+Inf")): value(r) for r in latency}
    return route_stats("", gw, limited, hist(gw_hist), {})
