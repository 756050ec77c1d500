"""The arithmetic and parsing behind the live figures: quantiles, counter resets, access logs,
history tiers, masked client keys, Prometheus configuration and error messages."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from pathlib import Path

import pytest
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from connectors.errors import MetricsError
from connectors.metrics import GATEWAY, PrometheusConfig, PrometheusSource, Scope
from connectors.metrics import histogram as h
from connectors.metrics import prometheus_chart as pc
from connectors.metrics.access_log import LogTail, parse_line
from connectors.metrics.admin_source import Reading, interval_between, parse_stats, split_default
from connectors.metrics.clients import client_label, strip_port
from connectors.metrics.frames import apportion, chart, grid
from connectors.metrics.prometheus_metrics import describe_failure
from connectors.metrics.promql import EnvoyFamily
from connectors.metrics.ring import History, Interval

BOUNDS = (0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0)


def _observe(values: list[float]) -> h.Buckets:
    counts = [0.0] * (len(BOUNDS) + 1)
    for v in values:
        i = next((i for i, b in enumerate(BOUNDS) if v <= b), len(BOUNDS))
        counts[i] += 1
    return tuple(counts)


def test_quantiles_land_in_the_bucket_that_holds_that_rank() -> None:
    rng = random.Random(7)
    values = [rng.uniform(0, 60) for _ in range(1000)]
    buckets = _observe(values)
    for q in (0.5, 0.95, 0.99):
        exact = sorted(values)[int(q * len(values)) - 1]
        got = h.quantile(q, BOUNDS, buckets)
        assert got is not None
        lower = max([0.0, *[b for b in BOUNDS if b < exact]])
        upper = min(b for b in (*BOUNDS, float("inf")) if b >= exact)
        assert lower <= got <= min(upper, BOUNDS[-1])
    assert h.quantile(0.99, BOUNDS, (0.0,) * (len(BOUNDS) + 1)) is None


def test_cumulative_buckets_round_trip_and_a_reset_counts_from_zero() -> None:
    per_bucket = _observe([0.3, 0.7, 3, 3, 8, 70, 500])
    cumulative = [sum(per_bucket[: i + 1]) for i in range(len(per_bucket))]
    assert h.from_cumulative(cumulative) == per_bucket
    later = tuple(c + 2 for c in cumulative)
    assert h.delta(tuple(cumulative), later, reset=False) == (2.0,) * len(later)
    # After a restart the buckets are smaller than before: the new values are the observations.
    assert h.delta(later, tuple(cumulative), reset=False) == tuple(cumulative)


def _reading(counters: dict[tuple[str, ...], float], uptime: float) -> Reading:
    r = Reading()
    r.counters, r.uptime = counters, uptime
    return r


def test_counters_that_went_down_after_a_restart_never_give_negative_rates() -> None:
    key, other = ("up", "shop", "v1", "2xx"), ("up", "shop", "v2", "2xx")
    before = _reading({key: 1000.0, other: 10.0}, uptime=500)
    # Envoy restarted: uptime went back; v2 got busier than before yet its counter restarted too.
    after = _reading({key: 40.0, other: 25.0}, uptime=3)
    iv = interval_between(before, after, 0.0, 1.0)
    assert iv.counts == {key: 40.0, other: 25.0}
    steady = interval_between(after, _reading({key: 70.0, other: 30.0}, uptime=4), 1.0, 2.0)
    assert steady.counts == {key: 30.0, other: 5.0}


def test_admin_stats_are_read_per_route_and_backend_without_sub_scopes() -> None:
    data = {
        "stats": [
            {"name": "cluster.shop~v1.upstream_rq_2xx", "value": 7},
            {"name": "cluster.shop~v1.external.upstream_rq_2xx", "value": 7},
            {"name": "cluster.shop~v2.upstream_rq_5xx", "value": 3},
            {"name": "http.main.downstream_rq_4xx", "value": 4},
            {"name": "http.admin.downstream_rq_2xx", "value": 99},
            {"name": "gw_rate_limit.http_local_rate_limit.rate_limited", "value": 4},
            {"name": "server.uptime", "value": 12},
            {
                "histograms": [
                    {
                        "name": "cluster.shop~v1.upstream_rq_time",
                        "buckets": [{"upper_bound": 1, "cumulative": 2}, {"upper_bound": 5, "cumulative": 7}],
                    }
                ]
            },
        ]
    }
    r = parse_stats(data, split_default)
    assert r.counters == {
        ("up", "shop", "v1", "2xx"): 7,
        ("up", "shop", "v2", "5xx"): 3,
        ("down", "4xx"): 4,
        ("down_lim",): 4,
    }
    assert r.bounds == (1.0, 5.0) and r.hists[("up", "shop", "v1")] == (2.0, 7.0, 0.0)
    assert r.uptime == 12


NATIVE = {
    "time": "2026-05-01T10:00:00.500Z",
    "route": "shop",
    "status": 429,
    "flags": "RL",
    "client": "10.1.2.3:51234",
    "upstream_cluster": "shop~v2",
    "duration_ms": 0,
    "method": "GET",
    "x-user-id": "alice",
    "x-api-key-id": "k_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
}
ENVOY_GATEWAY = {
    "start_time": "2026-05-01T10:00:01.000Z",
    "method": "GET",
    "x-envoy-origin-path": "/",
    "response_code": 429,
    "response_flags": "RL",
    "route_name": "httproute/default/backend/rule/0/match/0/www_example_com",
    "upstream_cluster": "httproute/default/backend/rule/0",
    "downstream_remote_address": "10.244.0.12:34805",
    "user-agent": "curl/8.5.0",
    "x-request-id": "ab1e4da7-5f1d-45ea-bb4a-fa1ccd03b82b",
    "x-forwarded-for": None,
}
ISTIO = {
    "start_time": "2026-05-01T10:00:02.000Z",
    "route_name": "reviews-v2",
    "response_code": 200,
    "response_flags": "-",
    "downstream_remote_address": "[fd00::7]:40000",
    "upstream_cluster": "outbound|9080|v2|reviews.default.svc.cluster.local",
}


def test_access_log_records_of_native_envoy_gateway_and_istio_layouts() -> None:
    native = parse_line(json.dumps(NATIVE))
    assert native is not None and native.rate_limited and native.route == "shop"
    assert native.client == "10.1.2.3" and native.cluster == "shop~v2"
    assert native.headers == {"x-user-id": "alice", "x-api-key-id": NATIVE["x-api-key-id"]}
    assert native.time == pytest.approx(1777629600.5)
    eg = parse_line(json.dumps(ENVOY_GATEWAY))
    assert eg is not None and eg.rate_limited and eg.client == "10.244.0.12"
    assert eg.headers == {"user-agent": "curl/8.5.0"}  # request ids do not tell clients apart
    istio = parse_line(json.dumps(ISTIO))
    assert istio is not None and not istio.rate_limited and istio.client == "fd00::7"
    # Envoy's own log lines, a torn line and non-HTTP JSON are skipped.
    for junk in ("[2026-05-01 10:00:00.000][1][warning] something", '{"route": "shop", "sta', '{"a": 1}'):
        assert parse_line(junk) is None
    # Without response flags a 429 counts as limited; with flags only RL does.
    assert parse_line(json.dumps({"route": "x", "status": 429})).rate_limited  # type: ignore[union-attr]
    assert not parse_line(json.dumps({"route": "x", "status": 429, "flags": "UH"})).rate_limited  # type: ignore[union-attr]


def test_credentials_are_never_shown_whole_but_stay_distinguishable() -> None:
    key_a, key_b = "k_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0", "k_live_0000000000000000000000000000ffff"
    a, b = client_label("x-api-key-id", key_a), client_label("x-api-key-id", key_b)
    assert key_a not in a and a != b and a.startswith(key_a[:4])
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    assert jwt_like not in client_label("x-user", jwt_like)
    assert client_label("x-user-id", "alice") == "alice"
    assert client_label("source", "10.0.0.7:5000") == "10.0.0.7"
    assert strip_port("[::1]:8080") == "::1" and strip_port("::1") == "::1"


def test_log_tail_reads_appended_lines_and_starts_over_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text('{"old": 1}\n')
    tail = LogTail(path)
    assert tail.read_lines() == []  # what was there before is not counted
    with open(path, "a") as fh:
        fh.write('{"n": 1}\n{"n": 2')
    assert tail.read_lines() == ['{"n": 1}']  # the torn line waits for its newline
    with open(path, "a") as fh:
        fh.write("}\n")
    assert tail.read_lines() == ['{"n": 2}']
    rotated = tmp_path / "access.log.new"
    rotated.write_text('{"n": 3}\n')
    os.replace(rotated, path)
    assert tail.read_lines() == ['{"n": 3}']


def test_history_keeps_the_last_hour_fine_and_older_time_by_minute() -> None:
    hist = History(fine_s=600, coarse_step_s=60, coarse_s=3600, settle_s=10)
    t0 = 1_000_000.0
    for i in range(1800):  # 30 minutes of 1-second polls, 2 requests each
        hist.add(Interval(t0 + i, t0 + i + 1, counts={("down", "2xx"): 2.0}))
    now = t0 + 1800
    fine = hist.intervals(now - 300)
    assert len(fine) == 300 and all(iv.seconds == pytest.approx(1) for iv in fine)
    coarse = hist.intervals(now - 1500)
    assert all(iv.seconds >= 59 for iv in coarse[:-12])
    total = sum(iv.counts[("down", "2xx")] for iv in coarse if iv.end > now - 1500)
    assert abs(total - 3000) <= 2 * 60 * 2  # within the minute at each end
    data = chart(hist, (), GATEWAY, 300, now - 0.5, source="t", status="ok")
    assert data.step_s == 3 and len(data.times) == 100
    known = [v for v in data.values("rps") if v is not None]
    assert known and all(v == pytest.approx(2.0) for v in known)


def test_late_access_log_counts_land_in_the_interval_of_the_request() -> None:
    hist = History(settle_s=30)
    for i in range(10):
        hist.add(Interval(100.0 + i, 101.0 + i))
    iv = hist.find(103.5)
    assert iv is not None and (iv.start, iv.end) == (103.0, 104.0)
    assert hist.find(None) is hist.latest and hist.find(50.0) is None


def test_the_limiter_total_is_shared_out_in_the_logs_proportions() -> None:
    assert apportion(30.0, mine=1, everyone=3, fallback_share=None) == pytest.approx(10.0)
    assert apportion(30.0, mine=0, everyone=0, fallback_share=0.5) == pytest.approx(15.0)
    assert apportion(None, mine=4, everyone=9, fallback_share=None) == 4


def test_chart_steps_are_whole_seconds_aligned_to_the_step() -> None:
    for window in (300.0, 3600.0, 21600.0, 86400.0):
        start, step, times = grid(window, 1_700_000_123.4)
        assert step == int(step) and times[-1] % step == 0 and times[-1] >= 1_700_000_123.4
        assert times[-1] - start == pytest.approx(window, abs=step)
        assert len(times) <= 120


def test_the_admin_charts_right_edge_is_the_newest_poll_not_the_running_steps_average() -> None:
    hist = History()
    t0 = 1_000_002.0  # a 3 s step boundary
    for i in range(10):  # 1 s polls: 10 req/s, then 30 req/s in the last one
        hist.add(Interval(t0 + i + 0.5, t0 + i + 1.5, counts={("down", "2xx"): 30.0 if i == 9 else 10.0}))
    now = t0 + 10.7  # in the step that ends at t0 + 12: its polls saw 10/s, then 30/s
    averaged = chart(hist, (), GATEWAY, 300, now, source="t", status="ok")
    live = chart(hist, (), GATEWAY, 300, now, source="t", status="ok", live_s=1.0)
    assert not averaged.live and averaged.values("rps")[-1] == pytest.approx(20.0)
    assert live.live and live.values("rps")[-1] == pytest.approx(30.0)
    assert live.values("rps")[:-1] == averaged.values("rps")[:-1]  # completed steps unchanged
    stale = chart(hist, (), GATEWAY, 300, now + 5, source="t", status="ok", live_s=1.0)
    assert not stale.live  # no poll for seconds: no live edge to show


def test_prometheus_chart_asks_each_completed_step_once_and_the_newest_kept_again() -> None:
    frame = pc.Frame(step=3.0, keys=None)
    first = (3.0, 6.0, 9.0, 12.0)
    assert frame.missing(first) == first  # nothing kept: the whole window
    frame.replace(first, {6: pc.Point(classes={"2xx": 1.0}), 12: pc.Point(classes={"2xx": 2.0})})
    assert frame.missing(first) == ()  # nothing new: no range query at all
    assert frame.points[3] == pc.Point()  # asked, Prometheus knew nothing: not asked again
    later = (9.0, 12.0, 15.0, 18.0)  # the window moved on two steps
    assert frame.missing(later) == (12.0, 15.0, 18.0)  # the newest kept once more, with the new ones
    assert set(frame.points) == {9, 12}
    frame.replace((12.0, 15.0, 18.0), {12: pc.Point(classes={"2xx": 4.0})})
    assert frame.points[12].classes == {"2xx": 4.0} and frame.points[18] == pc.Point()


def test_a_joined_prometheus_answer_is_read_back_into_its_parts_and_series() -> None:
    family = EnvoyFamily()
    queries = pc.parts(
        family,
        Scope("shop", "v2"),
        [("shop~v2",)],
        access_log=False,
        rate_window="4s",
        latency_window="4s",
        fn="irate",
    )
    assert set(queries) == {"classes", "latency"} and "irate(" in queries["classes"]
    assert "irate(" not in queries["latency"]  # quantiles of two scrapes would be a handful of requests
    joined = pc.joined(queries)
    assert joined.count("label_replace(") == 2 and " or " in joined
    cluster = "envoy_cluster_name"
    rows = [
        {
            "metric": {pc.PART: "classes", cluster: "shop~v2", "envoy_response_code_class": "2"},
            "value": [9.1, "6"],
        },
        {
            "metric": {pc.PART: "classes", cluster: "shop~v2", "envoy_response_code_class": "5"},
            "value": [9.1, "2"],
        },
        {
            "metric": {pc.PART: "classes", cluster: "shop~v1", "envoy_response_code_class": "2"},
            "value": [9.1, "50"],
        },
        {"metric": {pc.PART: "latency", cluster: "shop~v2", "le": "5"}, "value": [9.1, "2"]},
        {"metric": {pc.PART: "latency", cluster: "shop~v2", "le": "10"}, "value": [9.1, "6"]},
        {"metric": {pc.PART: "latency", cluster: "shop~v2", "le": "+Inf"}, "value": [9.1, "6"]},
        {
            "metric": {pc.PART: "classes", cluster: "shop~v2", "envoy_response_code_class": "4"},
            "value": [9.1, "NaN"],
        },
    ]

    def in_scope(labels: Mapping[str, str]) -> bool:
        return labels.get(cluster) == "shop~v2"

    points = pc.read(rows, family, in_scope, lambda _ts: 12)
    assert set(points) == {12}
    edge = points[12]
    assert edge.classes == {"2xx": 6.0, "5xx": 2.0} and edge.buckets == {
        5.0: 2.0,
        10.0: 6.0,
        float("inf"): 6.0,
    }
    values = pc.values(Scope("shop", "v2"), 3.0, [None, pc.Point(), edge], None)
    assert values["rps"] == [None, None, 8.0] and values["4xx"] == [None, None, 0.0]
    assert values["p50"][-1] == pytest.approx(6.25) and values["p99"][-1] == pytest.approx(9.925)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        (PrometheusConfig("localhost:9090"), "is not a Prometheus URL"),
        (PrometheusConfig("ftp://prom:9090"), "is not a Prometheus URL"),
        (PrometheusConfig("http://prom:90x0"), "invalid port"),
        (PrometheusConfig("http://prom:9090", ca_file="/nonexistent/ca.pem"), "does not exist"),
        (PrometheusConfig("http://prom:9090", rate_window="soon"), "not a duration"),
        (PrometheusConfig("http://prom:9090", timeout=0), "positive"),
        (PrometheusConfig("http://prom:9090", headers={"bad header": "x"}), "not a valid header name"),
    ],
)
def test_a_malformed_prometheus_configuration_is_refused_up_front(
    config: PrometheusConfig, fragment: str
) -> None:
    with pytest.raises(MetricsError, match=fragment):
        PrometheusSource(config, EnvoyFamily())


def test_query_failures_read_as_one_actionable_line_without_credentials() -> None:
    url = "http://prom:9090"
    body = b'{"status":"error","errorType":"bad_data","error":"1:6: parse error: unexpected \\"}\\""}'
    msg = describe_failure(PrometheusApiClientException(f"HTTP Status Code 400 ({body!r})"), url, 5)
    assert msg.startswith("Prometheus rejected the query: 1:6: parse error")
    denied = describe_failure(PrometheusApiClientException("HTTP Status Code 401 (b'no')"), url, 5)
    assert "401 Unauthorized" in denied and "credentials" in denied
    assert "did not answer within 5 s" in describe_failure(requests.Timeout(), url, 5)
    assert describe_failure(requests.ConnectionError(), url, 5) == f"cannot reach Prometheus at {url}"


def test_scopes_name_what_they_chart() -> None:
    assert (
        GATEWAY.kind == "gateway" and Scope("shop").kind == "route" and Scope("shop", "v2").kind == "backend"
    )
    with pytest.raises(ValueError):
        Scope(None, "v2")
