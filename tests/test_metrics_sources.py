"""What the console reports matches what Envoy counted, through either metrics source.

A real native gateway (real Envoy, real backends) takes paced traffic; each test runs twice: with
the Envoy admin source (no Prometheus) and with a real Prometheus scraping Envoy every second.
Both sources watch the gateway at once, so each scenario's traffic runs once (a module fixture) and
each source's test asserts on what it saw of it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from connectors.change import Change
from connectors.demo.prometheus import PrometheusProcess, find_prometheus
from connectors.metrics import GATEWAY, MetricsSource, PrometheusConfig, Scope, Snapshot, metrics_for
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from tests.prometheus_support import Traffic, admin_target, counter_sum, require_prometheus
from tests.waiting import wait_until

CANARY_XX = r"^cluster\.canary~v[12]\.upstream_rq_[1-5]xx$"
LIMITED = r"^gw_rate_limit\.http_local_rate_limit\.rate_limited$"
DOWNSTREAM_XX = r"^http\.main\.downstream_rq_[1-5]xx$"
SOURCES = ["admin", "prometheus"]


@pytest.fixture(scope="module")
def sources(
    request: pytest.FixtureRequest, shared_native_gateway: NativeConnector
) -> Iterator[dict[str, MetricsSource]]:
    """The admin source and (when Prometheus is installed, or under CI) the Prometheus one. Not waited
    for here: Prometheus takes ~7 s to pick up a new target (its 5 s discovery tick, then two scrapes)
    and does so while the first scenario's traffic runs; ``source`` waits before a test reads one."""
    gw = shared_native_gateway
    found: dict[str, MetricsSource | None] = {"admin": metrics_for(gw)}
    if find_prometheus() is not None or os.environ.get("CI", "").lower() == "true":
        prometheus: PrometheusProcess = request.getfixturevalue("prometheus")
        target = admin_target(gw.stats_url)
        prometheus.set_targets([target])
        config = PrometheusConfig(prometheus.url, rate_window="5s", selector=f'instance="{target}"')
        found["prometheus"] = metrics_for(gw, prometheus=config)
    assert all(src is not None for src in found.values())
    live = {name: src for name, src in found.items() if src is not None}
    yield live
    for src in live.values():
        src.close()


@pytest.fixture(params=SOURCES)
def source(request: pytest.FixtureRequest, sources: dict[str, MetricsSource]) -> MetricsSource:
    if request.param not in sources:
        require_prometheus()  # skips (fails under CI) with the reason
    src = sources[request.param]
    wait_until(lambda: src.snapshot().ok, timeout=20, what=f"{request.param} source to have data")
    return src


def _name(source: MetricsSource, sources: dict[str, MetricsSource]) -> str:
    return next(name for name, src in sources.items() if src is source)


@dataclass
class Rates:
    canary: float
    limited: float
    downstream: float
    snaps: dict[str, Snapshot]


@pytest.fixture(scope="module")
def rates(sources: dict[str, MetricsSource], shared_native_gateway: NativeConnector) -> Rates:
    gw = shared_native_gateway
    url, admin = gw.listener_url(), gw.admin_url
    with Traffic(url, "canary.test", 40), Traffic(url, "limited.test", 12, {"x-user-id": "rates"}):
        first, *others = sources.values()
        wait_until(lambda: first.snapshot().routes.get("limited", None), timeout=20, what="the limited route")
        # Measure Envoy over at least 5 s of steady traffic, while the sources' rate windows (5 s) fill
        # and a new Prometheus picks up its target (~7 s).
        t0 = time.monotonic()
        canary_before, limited_before = counter_sum(admin, CANARY_XX), counter_sum(admin, LIMITED)
        downstream_before = counter_sum(admin, DOWNSTREAM_XX)
        for src in others:
            wait_until(
                lambda src=src: src.snapshot().routes.get("limited", None),  # type: ignore[misc]
                timeout=20,
                what="the limited route",
            )
        time.sleep(max(0.0, 5 - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
        canary_rate = (counter_sum(admin, CANARY_XX) - canary_before) / elapsed
        limited_rate = (counter_sum(admin, LIMITED) - limited_before) / elapsed
        downstream_rate = (counter_sum(admin, DOWNSTREAM_XX) - downstream_before) / elapsed
        time.sleep(1.2)  # the access log is flushed every second
        snaps = {name: src.snapshot() for name, src in sources.items()}
    return Rates(canary_rate, limited_rate, downstream_rate, snaps)


def test_rates_and_429s_match_envoys_own_counters(
    source: MetricsSource, sources: dict[str, MetricsSource], rates: Rates
) -> None:
    snap = rates.snaps[_name(source, sources)]
    canary_rate, limited_rate = rates.canary, rates.limited
    assert snap.ok, snap.status
    canary, limited = snap.routes["canary"], snap.routes["limited"]
    assert canary.rps == pytest.approx(canary_rate, rel=0.2)
    assert sum(b.rps for b in canary.backends.values()) == pytest.approx(canary_rate, rel=0.2)
    assert canary.backends["v1"].rps > canary.backends["v2"].rps  # declared 90/10
    assert canary.limited_rps == 0 and canary.error_pct == 0
    assert limited_rate > 5
    assert limited.limited_rps == pytest.approx(limited_rate, rel=0.25)
    assert snap.gateway is not None
    assert snap.gateway.rps == pytest.approx(rates.downstream, rel=0.2)
    assert snap.gateway.limited_rps == pytest.approx(limited_rate, rel=0.25)
    assert canary.p99_ms is not None and 0 < canary.p99_ms < 1000


@pytest.fixture(scope="module")
def refused_clients(
    shared_native_gateway: NativeConnector, sources: dict[str, MetricsSource]
) -> tuple[int, int]:
    """Two clients over the limit, ``heavy`` more than ``light``: the 429s each got."""
    gw = shared_native_gateway
    with (
        Traffic(gw.listener_url(), "limited.test", 15, {"x-user-id": "heavy"}) as a,
        Traffic(gw.listener_url(), "limited.test", 4, {"x-user-id": "light"}) as b,
    ):
        time.sleep(3)
    return a.statuses[429], b.statuses[429]


def test_top_limited_clients_count_exactly_the_429s_each_client_got(
    source: MetricsSource, refused_clients: tuple[int, int]
) -> None:
    got_a, got_b = refused_clients
    assert got_a > got_b > 0

    def counts() -> dict[str, int] | None:
        top = dict(source.top_limited_clients("limited", "x-user-id", 300))
        return top if top.get("heavy") == got_a and top.get("light") == got_b else None

    top = wait_until(counts, timeout=10, what="the access log to show every 429")
    ranked = [k for k in top if k in ("heavy", "light")]
    assert ranked == ["heavy", "light"]
    by_source = dict(source.top_limited_clients("limited", "source", 300))
    assert by_source["127.0.0.1"] >= got_a + got_b
    assert "x-user-id" in source.client_keys()


@pytest.fixture(scope="module")
def charted(shared_native_gateway: NativeConnector, sources: dict[str, MetricsSource]) -> tuple[float, float]:
    """Limited and canary traffic over whole chart steps: (when it started, Envoy's refusals)."""
    gw = shared_native_gateway
    time.sleep(3 - time.time() % 3 + 0.05)  # start on a chart step (3 s in a 5 minute window)
    before, started = counter_sum(gw.admin_url, LIMITED), time.time()
    with Traffic(gw.listener_url(), "limited.test", 10), Traffic(gw.listener_url(), "canary.test", 20):
        time.sleep(7)  # covers at least one whole 3 s step in the steady state (bucket already empty)
    refused = counter_sum(gw.admin_url, LIMITED) - before
    # Wait until every step that can hold this traffic's refusals (log flush and polls lag ~2 s) is
    # complete: a running step's rate is over the part of it seen so far.
    time.sleep(math.ceil((time.time() + 2) / 3) * 3 - time.time() + 0.3)
    return started, refused


def test_charts_show_each_scope_with_units_and_the_limited_stretch(
    source: MetricsSource, charted: tuple[float, float]
) -> None:
    started, refused = charted
    route = source.series(Scope("limited"), 300)
    assert route.ok, route.status
    assert {s.key for s in route.series} >= {"rps", "2xx", "4xx", "5xx", "limited", "p50", "p95", "p99"}
    assert route.get("p99").unit == "ms" and route.get("rps").unit == "req/s"  # type: ignore[union-attr]
    # Points are step *end* times; the last is the step still running (the live edge, newest figures).
    asked = time.time()
    since = [v for t, v in zip(route.times, route.values("limited"), strict=True) if started < t <= asked]
    assert max(v for v in since if v is not None) == pytest.approx(10, rel=0.4)  # nearly all of 10/s refused
    if source.name == "envoy-admin":
        # Intervals add up exactly: the chart's 429s since the traffic began are Envoy's refusals.
        assert sum(v * route.step_s for v in since if v is not None) == pytest.approx(refused, rel=0.15)
    backend = source.series(Scope("canary", "v2"), 300)
    assert backend.ok and max(v or 0 for v in backend.values("rps")) > 0
    assert max(v or 0 for v in backend.values("limited")) == 0
    recent = source.series(GATEWAY, 300)
    assert recent.ok and max(v or 0 for v in recent.values("rps")) > 0
    # The hour view has 30 s steps: whether its completed ones hold this test's few seconds of traffic
    # depends on the clock, and its live edge shows only the last polls: check its shape, not its values.
    whole = source.series(GATEWAY, 3600)
    assert whole.step_s == 30
    assert whole.ok, whole.status  # even a fresh Prometheus without a completed step has a live edge
    assert all(v is None or v >= 0 for s in (*route.series, *recent.series, *whole.series) for v in s.values)


def _chart_share(source: MetricsSource, route: str) -> tuple[float, float] | None:
    """(the canary v2's share of requests at the right edge of the route's per-backend charts, the
    time of that point); None while the edge has no traffic."""
    v1, v2 = source.series(Scope(route, "v1"), 300), source.series(Scope(route, "v2"), 300)
    a, b = v1.values("rps")[-1], v2.values("rps")[-1]
    if not (v1.ok and v2.ok) or a is None or b is None or a + b <= 0:
        return None
    return 100 * b / (a + b), v2.times[-1]


def _shares_before(source: MetricsSource, t: float, since: float) -> list[float]:
    """v2's share in each completed step of the canary's charts that began after ``since`` and ended
    by ``t``, oldest first."""
    v1, v2 = source.series(Scope("canary", "v1"), 300), source.series(Scope("canary", "v2"), 300)
    return [
        100 * b / (a + b)
        for end, a, b in zip(v2.times, v1.values("rps"), v2.values("rps"), strict=True)
        if end - v2.step_s >= since and end <= t and a is not None and b is not None and a + b > 0
    ]


@dataclass
class WeightStep:
    """What one source showed of the 90/10 -> 10/90 step: its share just before the change, and the
    right edge once it showed the new split (share, the edge's time, when it was asked) or None."""

    before: list[float]
    shifted: tuple[float, float, float] | None
    seconds: float


@pytest.fixture(scope="module")
def weight_step(
    shared_native_gateway: NativeConnector, sources: dict[str, MetricsSource]
) -> dict[str, WeightStep]:
    gw = shared_native_gateway
    declared = {b.name: b.weight for b in gw.get_route("canary").backends}
    assert declared == {"v1": 90, "v2": 10}
    seen: dict[str, WeightStep] = {}
    with Traffic(gw.listener_url(), "canary.test", 40):
        started = time.time()
        for name, src in sources.items():
            wait_until(
                lambda src=src: (s := _chart_share(src, "canary")) is not None and s[0] <= 20,  # type: ignore[misc]
                timeout=20,
                what=f"{name}: the chart to show the declared 90/10",
            )
        # Completed steps of 90/10, ending at least 5 s before the change, behind it.
        for name, src in sources.items():
            wait_until(
                lambda src=src: _shares_before(src, time.time() - 5.5, started),  # type: ignore[misc]
                timeout=20,
                what=f"{name}: a completed step of this traffic 5 s in the past",
            )
        changed = time.time()
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 10, "v2": 90})]))
        applied = time.time()
        try:
            shifted: dict[str, tuple[float, float, float]] = {}
            # the goal is two scrape intervals (bench_metrics); 6 s is generous for a busy CI
            while len(shifted) < len(sources) and time.time() - applied <= 6:
                for name, src in sources.items():
                    asked = time.time()
                    s = _chart_share(src, "canary") if name not in shifted else None
                    if s is not None and s[0] >= 80:
                        shifted[name] = (*s, asked)
                time.sleep(0.05)
            for name, src in sources.items():
                got = shifted.get(name)
                before = _shares_before(src, changed - 5, started)
                seen[name] = WeightStep(before, got, got[2] - applied if got else math.inf)
        finally:
            Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), declared)]))
    return seen


def test_a_weight_step_shows_at_the_charts_right_edge_within_seconds(
    source: MetricsSource, sources: dict[str, MetricsSource], weight_step: dict[str, WeightStep]
) -> None:
    step = weight_step[_name(source, sources)]
    assert step.shifted is not None, "the chart's right edge never showed the new 10/90 within 6 s"
    assert step.seconds <= 6
    # The past is not rewritten: a step that ended well before the change still reads 90/10.
    assert step.before and step.before[-1] <= 25, step.before[-3:]
    _, edge, asked = step.shifted
    assert edge > asked  # the chart reaches now: its last point is the step still running


@pytest.fixture(scope="module")
def restarted(
    shared_native_gateway: NativeConnector, sources: dict[str, MetricsSource]
) -> dict[str, Snapshot]:
    """Envoy restarted between two stretches of traffic: each source's first snapshot with rates again."""
    gw = shared_native_gateway
    with Traffic(gw.listener_url(), "canary.test", 30):
        time.sleep(2)
    gw.restart()
    snaps: dict[str, Snapshot] = {}
    with Traffic(gw.listener_url(), "canary.test", 30):
        for name, src in sources.items():
            snaps[name] = wait_until(
                lambda src=src: (  # type: ignore[misc]
                    (s := src.snapshot()).ok and s.routes.get("canary") and s.routes["canary"].rps > 5 and s
                ),
                timeout=20,
                what=f"{name}: rates after the restart",
            )
    return snaps


def test_envoy_restart_resets_counters_without_negative_rates(
    source: MetricsSource, sources: dict[str, MetricsSource], restarted: dict[str, Snapshot]
) -> None:
    assert restarted[_name(source, sources)]
    data = source.series(Scope("canary"), 300)
    values = [v for s in data.series for v in s.values if v is not None]
    assert values and min(values) >= 0
    # The restart is a dip, not a spike: no step shows more than the traffic could send.
    assert max(v for v in data.values("rps") if v is not None) < 30 * 2
