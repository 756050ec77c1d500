"""``PrometheusSource.counts``: requests per route and backend since a time, from the counters.

Each backend's cumulative response counters (and latency buckets) are asked as of ``since`` (the
last scrape at or before it) and as of now, and subtracted: so the requests between that scrape and
``since`` count too (at most one scrape interval; the admin source's poll interval likewise),
rather than a burst right after ``since`` going uncounted. When Prometheus holds no series of the
gateway now (its scrapes fail: Envoy is gone) nothing is counted: the answer says so
(``NoCurrentCounters``). A counter lower now than then was reset
(Envoy restarted) and counts from zero. A series absent at ``since`` began after it (Envoy creates
a class's counter at its first response) and counts whole; but when Prometheus held no series of
the gateway at ``since`` it was not scraping it yet, and the answer says so rather than counting
everything since the gateway started. Requests Envoy answered itself come from the access log
(native gateways), as in every source.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import MetricsError
from . import histogram
from .counts import BackendCounts, Target
from .promql import MetricFamily

Rows = list[dict[str, Any]]
Ask = Callable[[str, float], Rows]  # an instant query at a time


def backends(
    family: MetricFamily, ask: Ask, since: float | None, now: float, *, strict: bool = False
) -> dict[Target, BackendCounts]:
    """Per-backend counts from the last scrape at or before ``since`` (None: since the gateway
    started; ``strict``: the first scrape after it) to the last one."""
    classes_q, latency_q = family.counters()
    now_classes, now_latency = ask(classes_q, now), ask(latency_q, now)
    # Envoy creates its cluster counters at start, so none now means no scrape succeeds. (Istio's
    # istio_requests_total appears only with traffic: none may just mean no request yet.)
    if family.family == "envoy" and not now_classes and not ask(family.keys_query(), now):
        raise NoCurrentCounters(
            "Prometheus holds no current counters of this gateway (its scrapes fail: the gateway "
            "is not answering, or not scraped)"
        )
    then_classes: Rows = []
    then_latency: Rows = []
    if since is not None:
        then_classes, then_latency = _baseline(family, ask, since)
        if strict:
            then_classes, then_latency = _first_after(family, ask, since, now, then_classes, then_latency)
    counts = _delta(_by_key(family, now_classes, "class"), _by_key(family, then_classes, "class"))
    buckets = _delta(_by_key(family, now_latency, "le"), _by_key(family, then_latency, "le"))
    requests: dict[Target, float] = defaultdict(float)
    errors: dict[Target, float] = defaultdict(float)
    for (target, cls), v in counts.items():
        requests[target] += v
        if cls == "5xx":
            errors[target] += v
    out = {}
    for target, n in requests.items():
        by_le = {float(le): v for (t, le), v in buckets.items() if t == target}
        h = histogram.from_bounds({(math.inf if le == math.inf else le): v for le, v in by_le.items()})
        p99 = histogram.quantile(0.99, h[0], h[1]) if h else None
        out[target] = BackendCounts(target[1], round(n), round(errors[target]), p99)
    return out


class NoCurrentCounters(MetricsError):
    """Prometheus holds no series of the gateway now: its scrapes fail (Envoy died) or never began.
    Counting then would subtract from nothing and leave only the access log's local replies: a
    made-up 100 % refusal rate."""


class NotScrapedYet(MetricsError):
    """Prometheus held no series of the gateway at the time asked: it was not scraping it yet."""


def _baseline(family: MetricFamily, ask: Ask, since: float) -> tuple[Rows, Rows]:
    """The counters as of the last scrape at or before ``since``."""
    classes, latency = (ask(q, since) for q in family.counters())
    if not classes and not ask(family.keys_query(), since):
        when = time.strftime("%H:%M:%S", time.localtime(since))
        raise NotScrapedYet(
            f"Prometheus holds no counters of this gateway from {when}: it was not scraping it yet"
        )
    return classes, latency


def _first_after(
    family: MetricFamily, ask: Ask, since: float, now: float, classes: Rows, latency: Rows
) -> tuple[Rows, Rows]:
    """The counters of ``classes``/``latency`` (as at ``since``) moved on to the first scrape after
    ``since``: their smallest value in the next few seconds (counters only grow). A series that did
    not exist at ``since`` keeps no baseline: it counts whole."""
    window = f"{max(1, round((min(now, since + 5.0) - since) * 1000))}ms"
    at = min(now, since + 5.0)
    out = []
    for rows, query in zip(
        (classes, latency), family.counters(f"min_over_time({{}}[{window}])"), strict=True
    ):
        after = {_labels(r): r for r in ask(query, at)}
        out.append([after.get(_labels(r), r) for r in rows])
    return out[0], out[1]


def _labels(row: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset(row["metric"].items())


def _by_key(family: MetricFamily, rows: Rows, part: str) -> dict[tuple[Target, Any], float]:
    out: dict[tuple[Target, Any], float] = {}
    for row in rows:
        labels: Mapping[str, str] = row["metric"]
        target = family.target(tuple(labels.get(k, "") for k in family.key_labels))
        sub = family.class_of(labels) if part == "class" else histogram.finite_bound(labels.get("le", "+Inf"))
        if target is None or not target[1] or sub is None:
            continue
        v = float(row["value"][1])
        if v == v:  # NaN counts as nothing
            out[(target, sub)] = out.get((target, sub), 0.0) + v
    return out


def _delta(now: Mapping[Any, float], then: Mapping[Any, float]) -> dict[Any, float]:
    return {k: v - then.get(k, 0.0) if v >= then.get(k, 0.0) else v for k, v in now.items()}
