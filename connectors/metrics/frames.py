"""Turn a ``History`` of poll intervals into snapshots and chart series.

Counter keys used by the sources that keep a history (see ``admin_source``):

    ("up", route, backend, "2xx")   upstream responses of one route's backend, by class
    ("up", route, backend)          that backend's upstream latency histogram (ms)
    ("lim", route, backend)         requests of the route refused by the rate limiter (access log;
                                    backend "" when the log names no cluster)
    ("down", "2xx")                 what clients of the whole gateway got, by class
    ("down",)                       the gateway's downstream latency histogram (ms)
    ("down_lim",)                   the gateway's rate limiter refusals (all routes)
    ("loc", route, "4xx")           other requests of the route Envoy answered itself, by class
                                    (access log: JWT 401s, CORS preflights)

A route's requests are all those the gateway answered on it; a backend's are those that reached it.
Rate-limited and other locally answered requests never reach a backend, so route figures add them
to the upstream ones (route req/s = upstream responses + 429s + local replies, its 4xx class holds
those 429s and 401s) and backend figures leave them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import histogram
from .histogram import Buckets
from .ring import History, Interval
from .types import CLASSES, QUANTILES, BackendStats, ChartData, RouteStats, Scope, make_series


@dataclass
class Figures:
    """Counts of one scope within one interval (or several merged)."""

    classes: dict[str, float]
    limited: float
    hist: Buckets | None
    seconds: float


def figures(iv: Interval, scope: Scope, *, local: bool = True) -> Figures:
    """What ``scope`` counted within ``iv``; ``local=False`` leaves out the local replies other than
    429s (the snapshot adds them from an older, complete part of the access log: ``local_rates``)."""
    classes = dict.fromkeys(CLASSES, 0.0)
    limited = 0.0
    hist: Buckets | None = None
    if scope.route is None:
        for k, v in iv.counts.items():
            if k[0] == "down":
                classes[k[1]] = classes.get(k[1], 0.0) + v
            elif k[0] == "down_lim":
                limited += v
        hist = iv.hists.get(("down",))
        return Figures(classes, limited, hist, iv.seconds)
    route_scope = scope.backend is None
    for k, v in iv.counts.items():
        if len(k) < 3 or k[1] != scope.route:
            continue
        if k[0] == "loc":
            if route_scope and local:
                classes[k[2]] = classes.get(k[2], 0.0) + v
        elif not route_scope and k[2] != scope.backend:
            continue
        elif k[0] == "up":
            classes[k[3]] = classes.get(k[3], 0.0) + v
        elif k[0] == "lim" and route_scope:
            limited += v
    classes["4xx"] += limited
    for k, h in iv.hists.items():
        if k[0] == "up" and k[1] == scope.route and (scope.backend is None or k[2] == scope.backend):
            hist = histogram.add(hist, h)
    return Figures(classes, limited, hist, iv.seconds)


def _quantiles(bounds: tuple[float, ...], hist: Buckets | None) -> dict[str, float | None]:
    return {name: (histogram.quantile(q, bounds, hist) if hist else None) for name, q in QUANTILES.items()}


def chart(
    history: History,
    bounds: tuple[float, ...],
    scope: Scope,
    window_s: float,
    now: float,
    *,
    source: str,
    status: str,
    points: int = 120,
    min_step: float = 1.0,
    fallback_share: float | None = None,
    latency_s: float = 5.0,
    live_s: float | None = None,
) -> ChartData:
    """Per-step rates and quantiles of ``scope`` over the window ending ``now``. Steps are aligned to
    multiples of the step so that a refresh moves the chart by whole steps. A route's 429s are the
    limiter's count shared out by the access log (``apportion``); ``fallback_share`` is the route's
    recent share, for steps whose log lines Envoy has not flushed yet.

    The last step is still running. With ``live_s`` (the poll interval) its rates are those of the
    newest poll interval, when it ended within ``2 * live_s`` of ``now``: the chart's right edge
    moves with each poll, so a weight step shows there within two polls rather than once most of
    a step has passed (its latency stays the step's, as quantiles of one poll are a handful of
    requests)."""
    start, step, times = grid(window_s, now, points=points, min_step=min_step)
    slots = history.buckets(start, times[-1], step)
    rate_slots = list(slots)
    latest = history.latest
    live = live_s is not None and latest is not None and now - latest.end <= 2 * live_s
    if live and latest is not None:
        rate_slots[-1] = latest
    values: dict[str, list[float | None]] = {k: [] for k in ("rps", *CLASSES, "limited", *QUANTILES)}
    # Envoy refreshes histograms every stats flush (5 s): with shorter steps, a step's latency
    # also draws on the steps just before it, so the line has no holes between flushes.
    lookback = max(0, math.ceil(latency_s / step) - 1)
    hists: list[Buckets | None] = []
    for hist_slot, slot in zip(slots, rate_slots, strict=True):
        hists.append(figures(hist_slot, scope).hist if hist_slot is not None else None)
        if slot is None:
            for v in values.values():
                v.append(None)
            continue
        f = figures(slot, scope)
        secs = f.seconds
        for c in CLASSES:
            values[c].append(f.classes[c] / secs)
        values["rps"].append(sum(f.classes.values()) / secs)
        if scope.route is not None and scope.backend is None and ("down_lim",) in slot.counts:
            mine, everyone = log_counts(slot, scope)
            limited = apportion(slot.counts[("down_lim",)], mine, everyone, fallback_share)
            values["4xx"][-1] = max(0.0, (f.classes["4xx"] - f.limited + limited) / secs)
            values["rps"][-1] = max(0.0, (sum(f.classes.values()) - f.limited + limited) / secs)
            values["limited"].append(limited / secs)
        else:
            values["limited"].append(f.limited / secs)
        recent: Buckets | None = None
        for h in hists[-1 - lookback :]:
            recent = histogram.add(recent, h)
        for name, q in _quantiles(bounds, recent).items():
            values[name].append(q)
    series = tuple(make_series(k, tuple(v)) for k, v in values.items())
    return ChartData(scope, window_s, step, times, series, source, status, live=live)


def log_counts(iv: Interval, scope: Scope) -> tuple[float, float]:
    """(refusals the access log puts on ``scope``, refusals it saw on any route) within ``iv``."""
    mine = everyone = 0.0
    for k, v in iv.counts.items():
        if k[0] == "lim":
            everyone += v
            if k[1] == scope.route and (scope.backend is None or k[2] == scope.backend):
                mine += v
    return mine, everyone


def apportion(total: float | None, mine: float, everyone: float, fallback_share: float | None) -> float:
    """A route's part of the limiter's ``total`` refusals: in the proportion the access log shows, or
    the route's recent share while the log lines are not flushed yet; the log's own count when
    there is no limiter total."""
    if total is None:
        return mine
    if everyone > 0:
        return total * mine / everyone
    return total * fallback_share if fallback_share is not None else 0.0


def grid(
    window_s: float, now: float, *, points: int = 120, min_step: float = 1.0
) -> tuple[float, float, tuple[float, ...]]:
    """Chart steps over the window ending ``now``: whole seconds, aligned to multiples of the step so
    that a refresh moves the chart by whole steps and Prometheus' steps land on the same times.
    Returns (start, step, end time of each step)."""
    step = float(max(math.ceil(min_step), math.ceil(window_s / points)))
    end = (math.floor(now / step) + 1) * step
    n = max(1, round(window_s / step))
    start = end - n * step
    return start, step, tuple(start + step * (i + 1) for i in range(n))


def stats(
    history: History, bounds: tuple[float, ...], scope: Scope, rate_s: float, latency_s: float
) -> Figures:
    """Figures of ``scope`` over the last ``rate_s`` seconds, the histogram over ``latency_s``."""
    latest = history.latest
    if latest is None:
        return Figures(dict.fromkeys(CLASSES, 0.0), 0.0, None, 1.0)
    counted = [iv for iv in history.intervals(latest.end - latency_s)]
    recent = [figures(iv, scope, local=False) for iv in counted if iv.end > latest.end - rate_s]
    classes = dict.fromkeys(CLASSES, 0.0)
    for f in recent:
        for c, v in f.classes.items():
            classes[c] += v
    hist: Buckets | None = None
    for iv in counted:
        hist = histogram.add(hist, figures(iv, scope).hist)
    return Figures(classes, sum(f.limited for f in recent), hist, sum(f.seconds for f in recent) or 1.0)


LOG_LAG_S = 2.0
"""Envoy flushes the access log every second and the sources read it once a poll: records older than
this are all in."""


def local_rates(
    history: History, route: str, window_s: float = 5.0, lag_s: float = LOG_LAG_S
) -> dict[str, float]:
    """The route's local replies other than 429s per second, by class, over ``window_s`` seconds
    ending ``lag_s`` before the newest poll (the newest seconds of the log are not flushed yet)."""
    latest = history.latest
    if latest is None:
        return {}
    end = latest.end - lag_s
    counted = [iv for iv in history.intervals(end - window_s) if iv.end <= end]
    if not counted:
        return {}
    seconds = max(1.0, counted[-1].end - counted[0].start)
    out: dict[str, float] = {}
    for iv in counted:
        for c, v in local_counts(iv, route).items():
            out[c] = out.get(c, 0.0) + v / seconds
    return out


def local_counts(iv: Interval, route: str) -> dict[str, float]:
    """The route's local replies other than 429s within ``iv``, by class."""
    out: dict[str, float] = {}
    for k, v in iv.counts.items():
        if k[0] == "loc" and k[1] == route:
            out[k[2]] = out.get(k[2], 0.0) + v
    return out


def with_local(f: Figures, rates: dict[str, float]) -> Figures:
    """``f`` with local replies (per second, by class) added as counts over its seconds."""
    if not rates:
        return f
    classes = dict(f.classes)
    for c, r in rates.items():
        classes[c] = classes.get(c, 0.0) + r * f.seconds
    return Figures(classes, f.limited, f.hist, f.seconds)


def backend_stats(name: str, f: Figures, bounds: tuple[float, ...]) -> BackendStats:
    rps = sum(f.classes.values()) / f.seconds
    q = _quantiles(bounds, f.hist)
    return BackendStats(
        backend=name,
        rps=rps,
        by_class={c: v / f.seconds for c, v in f.classes.items()},
        error_pct=_pct(f.classes["5xx"], sum(f.classes.values())),
        p50_ms=q["p50"],
        p95_ms=q["p95"],
        p99_ms=q["p99"],
    )


def route_stats(
    name: str, f: Figures, bounds: tuple[float, ...], backends: dict[str, BackendStats]
) -> RouteStats:
    q = _quantiles(bounds, f.hist)
    return RouteStats(
        route=name,
        rps=sum(f.classes.values()) / f.seconds,
        by_class={c: v / f.seconds for c, v in f.classes.items()},
        error_pct=_pct(f.classes["5xx"], sum(f.classes.values())),
        limited_rps=f.limited / f.seconds,
        p50_ms=q["p50"],
        p95_ms=q["p95"],
        p99_ms=q["p99"],
        backends=backends,
    )


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0
