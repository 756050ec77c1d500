"""What the console reports matches what Envoy counted, through either metrics source.

A real native gateway (real Envoy, real backends) takes paced traffic; each test runs twice: with
the Envoy admin source (no Prometheus) and with a real Prometheus scraping Envoy every second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from connectors.demo.prometheus import PrometheusProcess
from connectors.metrics import GATEWAY, MetricsSource, PrometheusConfig, Scope, metrics_for
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from tests.prometheus_support import Traffic, admin_target, counter_sum, wait_for

CANARY_XX = r"^cluster\.canary~v[12]\.upstream_rq_[1-5]xx$"
LIMITED = r"^gw_rate_limit\.http_local_rate_limit\.rate_limited$"
DOWNSTREAM_XX = r"^http\.main\.downstream_rq_[1-5]xx$"


@pytest.fixture(scope="module", params=["admin", "prometheus"])
def source(request: pytest.FixtureRequest, shared_native_gateway: NativeConnector) -> Iterator[MetricsSource]:
    gw = shared_native_gateway
    if request.param == "admin":
        src = metrics_for(gw)
    else:
        prometheus: PrometheusProcess = request.getfixturevalue("prometheus")
        target = admin_target(gw.stats_url)
        prometheus.set_targets([target])
        config = PrometheusConfig(prometheus.url, rate_window="5s", selector=f'instance="{target}"')
        src = metrics_for(gw, prometheus=config)
    assert src is not None
    wait_for(lambda: src.snapshot().ok, timeout=20, what=f"{request.param} source to have data")
    yield src
    src.close()


def _rate(pattern: str, admin: str, seconds: float) -> float:
    before, t0 = counter_sum(admin, pattern), time.monotonic()
    time.sleep(seconds)
    return (counter_sum(admin, pattern) - before) / (time.monotonic() - t0)


def test_rates_and_429s_match_envoys_own_counters(
    source: MetricsSource, shared_native_gateway: NativeConnector
) -> None:
    gw = shared_native_gateway
    url, admin = gw.listener_url(), gw.admin_url
    with Traffic(url, "canary.test", 40), Traffic(url, "limited.test", 12, {"x-user-id": "rates"}):
        # Let the rate windows (5 s) fill with steady traffic, then measure Envoy over 5 s.
        wait_for(lambda: source.snapshot().routes.get("limited", None), what="the limited route")
        time.sleep(4)
        t0 = time.monotonic()
        canary_before, limited_before = counter_sum(admin, CANARY_XX), counter_sum(admin, LIMITED)
        downstream_before = counter_sum(admin, DOWNSTREAM_XX)
        time.sleep(5)
        elapsed = time.monotonic() - t0
        canary_rate = (counter_sum(admin, CANARY_XX) - canary_before) / elapsed
        limited_rate = (counter_sum(admin, LIMITED) - limited_before) / elapsed
        downstream_rate = (counter_sum(admin, DOWNSTREAM_XX) - downstream_before) / elapsed
        time.sleep(1.2)  # the access log is flushed every second
        snap = source.snapshot()
    assert snap.ok, snap.status
    canary, limited = snap.routes["canary"], snap.routes["limited"]
    assert canary.rps == pytest.approx(canary_rate, rel=0.2)
    assert sum(b.rps for b in canary.backends.values()) == pytest.approx(canary_rate, rel=0.2)
    assert canary.backends["v1"].rps > canary.backends["v2"].rps  # declared 90/10
    assert canary.limited_rps == 0 and canary.error_pct == 0
    assert limited_rate > 5
    assert limited.limited_rps == pytest.approx(limited_rate, rel=0.25)
    assert snap.gateway is not None
    assert snap.gateway.rps == pytest.approx(downstream_rate, rel=0.2)
    assert snap.gateway.limited_rps == pytest.approx(limited_rate, rel=0.25)
    assert canary.p99_ms is not None and 0 < canary.p99_ms < 1000


def test_top_limited_clients_count_exactly_the_429s_each_client_got(
    source: MetricsSource, shared_native_gateway: NativeConnector, request: pytest.FixtureRequest
) -> None:
    gw = shared_native_gateway
    tag = request.node.callspec.id
    heavy, light = f"heavy-{tag}", f"light-{tag}"
    with (
        Traffic(gw.listener_url(), "limited.test", 15, {"x-user-id": heavy}) as a,
        Traffic(gw.listener_url(), "limited.test", 4, {"x-user-id": light}) as b,
    ):
        time.sleep(3)
    got_a, got_b = a.statuses[429], b.statuses[429]
    assert got_a > got_b > 0

    def counts() -> dict[str, int] | None:
        top = dict(source.top_limited_clients("limited", "x-user-id", 300))
        return top if top.get(heavy) == got_a and top.get(light) == got_b else None

    top = wait_for(counts, timeout=10, what="the access log to show every 429")
    ranked = [k for k in top if k in (heavy, light)]
    assert ranked == [heavy, light]
    by_source = dict(source.top_limited_clients("limited", "source", 300))
    assert by_source["127.0.0.1"] >= got_a + got_b
    assert "x-user-id" in source.client_keys()


def test_charts_show_each_scope_with_units_and_the_limited_stretch(
    source: MetricsSource, shared_native_gateway: NativeConnector
) -> None:
    gw = shared_native_gateway
    time.sleep(3 - time.time() % 3 + 0.05)  # start on a chart step (3 s in a 5 minute window)
    before, started = counter_sum(gw.admin_url, LIMITED), time.time()
    with Traffic(gw.listener_url(), "limited.test", 10), Traffic(gw.listener_url(), "canary.test", 20):
        time.sleep(7)  # covers at least one whole 3 s step in the steady state (bucket already empty)
    refused = counter_sum(gw.admin_url, LIMITED) - before
    # Wait until every step that can hold this traffic's refusals (log flush and polls lag ~2 s) is
    # complete: a running step's rate is over the part of it seen so far.
    time.sleep(math.ceil((time.time() + 2) / 3) * 3 - time.time() + 0.3)
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


def test_a_weight_step_shows_at_the_charts_right_edge_within_seconds(
    source: MetricsSource, shared_native_gateway: NativeConnector
) -> None:
    gw = shared_native_gateway
    declared = {b.name: b.weight for b in gw.get_route("canary").backends}
    assert declared == {"v1": 90, "v2": 10}
    with Traffic(gw.listener_url(), "canary.test", 40):
        wait_for(
            lambda: (s := _chart_share(source, "canary")) is not None and s[0] <= 20,
            timeout=20,
            what="the chart to show the declared 90/10",
        )
        time.sleep(10)  # completed steps of 90/10 behind the change
        changed = time.time()
        gw.apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 10, "v2": 90})]))
        applied = time.time()
        try:

            def shifted() -> tuple[float, float, float] | None:
                asked = time.time()
                s = _chart_share(source, "canary")
                return (*s, asked) if s is not None and s[0] >= 80 else None

            share = wait_for(
                shifted,
                timeout=6,  # the goal is two scrape intervals (bench_metrics); generous for a busy CI
                what="the chart's right edge to show the new 10/90",
            )
            assert time.time() - applied <= 6
            # The past is not rewritten: a step that ended well before the change still reads 90/10.
            v1, v2 = source.series(Scope("canary", "v1"), 300), source.series(Scope("canary", "v2"), 300)
            before = [
                100 * b / (a + b)
                for t, a, b in zip(v2.times, v1.values("rps"), v2.values("rps"), strict=True)
                if t <= changed - 5 and a is not None and b is not None and a + b > 0
            ]
            assert before and before[-1] <= 25, before[-3:]
            _, edge, asked = share
            assert edge > asked  # the chart reaches now: its last point is the step still running
        finally:
            gw.apply(gw.plan([set_weights(gw.get_route("canary"), declared)]))


def test_envoy_restart_resets_counters_without_negative_rates(
    source: MetricsSource, shared_native_gateway: NativeConnector
) -> None:
    gw = shared_native_gateway
    with Traffic(gw.listener_url(), "canary.test", 30):
        time.sleep(2)
    gw.restart()
    with Traffic(gw.listener_url(), "canary.test", 30):
        snap = wait_for(
            lambda: (
                (s := source.snapshot()).ok and s.routes.get("canary") and s.routes["canary"].rps > 5 and s
            ),
            timeout=20,
            what="rates after the restart",
        )
    assert snap
    data = source.series(Scope("canary"), 300)
    values = [v for s in data.series for v in s.values if v is not None]
    assert values and min(values) >= 0
    # The restart is a dip, not a spike: no step shows more than the traffic could send.
    assert max(v for v in data.values("rps") if v is not None) < 30 * 2
