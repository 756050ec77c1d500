"""The split since a weight change and its verdict: the statistics on their own, then against a real
Envoy with real requests, through both metric sources."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest

from connectors.change import Change
from connectors.demo.prometheus import PrometheusProcess
from connectors.history import HistoryEntry
from connectors.metrics import MetricsSource, PrometheusConfig, metrics_for
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.native.xds import atomic_write
from connectors.split import SplitReport, judge, last_weight_change, needed, split_since_change, wilson
from tests.native_support import client
from tests.prometheus_support import admin_target
from tests.waiting import wait_until


def test_the_wilson_interval_matches_the_textbook_values() -> None:
    lo, hi = wilson(591, 1204)  # 49.1 %
    assert (round(lo, 4), round(hi, 4)) == (0.4627, 0.5191)
    lo, hi = wilson(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    lo, hi = wilson(20, 20)
    assert lo == pytest.approx(0.8389, abs=1e-4) and hi == 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def test_an_even_split_of_a_thousand_requests_is_consistent_with_fifty_fifty() -> None:
    j = judge({"v1": 50, "v2": 50}, {"v1": 613, "v2": 591})
    assert j.verdict == "consistent"
    assert j.message == "v2 49.1 % of 1,204 requests — consistent with 50 %"
    v2 = j.backends[1]
    assert v2.requests == 591 and v2.observed_pct == pytest.approx(49.09, abs=0.01)
    assert v2.interval is not None and v2.interval[0] < 50 < v2.interval[1]


def test_seventy_thirty_served_against_fifty_fifty_declared_is_inconsistent() -> None:
    j = judge({"v1": 50, "v2": 50}, {"v1": 700, "v2": 300})
    assert j.verdict == "inconsistent"
    assert j.message.startswith(
        "v1 70 % of 1,000 requests — not consistent with 50 % (95 % interval 67.1-72.8 %)"
    )


def test_too_few_requests_says_how_many_a_verdict_needs() -> None:
    j = judge({"v1": 50, "v2": 50}, {"v1": 20, "v2": 17})
    assert j.verdict == "too-few" and j.message == "too few requests yet (37 of the 50 a verdict needs)"
    # A 1 % canary needs enough requests to expect ten on it.
    assert needed({"v1": 99, "v2": 1}) == 1000 and needed({"v1": 90, "v2": 10}) == 100
    assert needed({"v1": 100, "v2": 0}) == 50


def test_a_backend_declared_at_zero_that_got_requests_is_inconsistent() -> None:
    assert judge({"v1": 100, "v2": 0}, {"v1": 1000}).verdict == "consistent"
    j = judge({"v1": 100, "v2": 0}, {"v1": 990, "v2": 10})
    assert j.verdict == "inconsistent" and j.message.startswith("v2 1 % of 1,000 requests")
    # A backend the route does not declare at all counts as declared at 0 %.
    assert judge({"v1": 100}, {"v1": 990, "v9": 10}).verdict == "inconsistent"


def test_with_three_backends_each_interval_is_wider() -> None:
    two = judge({"a": 50, "b": 50}, {"a": 450, "b": 550}).backends[0].interval
    three = judge({"a": 50, "b": 25, "c": 25}, {"a": 450, "b": 275, "c": 275}).backends[0].interval
    assert two is not None and three is not None and three[0] < two[0]


def _entry(i: int, route: str, before: list[int] | None, after: list[int], **kw: object) -> HistoryEntry:
    def d(ws: list[int]) -> dict[str, object]:
        return {"name": route, "backends": [{"name": f"v{n + 1}", "weight": w} for n, w in enumerate(ws)]}

    return HistoryEntry(
        id=f"c{i}",
        time=float(i),
        user="u",
        gateway="g",
        routes=(route,),
        description=f"change {i}",
        before=(d(before),) if before is not None else (),
        after=(d(after),),
        **kw,  # type: ignore[arg-type]
    )


def test_the_change_counted_from_is_the_newest_that_moved_the_routes_weights() -> None:
    entries = [
        _entry(1, "shop", [90, 10], [50, 50]),
        _entry(2, "other", [90, 10], [10, 90]),
        _entry(3, "shop", [50, 50], [50, 50]),  # e.g. a rate-limit edit: weights as they were
    ]
    found = last_weight_change(entries, "shop")
    assert found is not None and found.id == "c1"
    undo = last_weight_change([*entries, _entry(4, "shop", [50, 50], [90, 10], action="undo")], "shop")
    assert undo is not None and undo.id == "c4"
    assert last_weight_change(entries, "nowhere") is None


# -- against a real Envoy ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=["admin", "prometheus"])
def source(request: pytest.FixtureRequest, shared_native_gateway: NativeConnector) -> Iterator[MetricsSource]:
    gw = shared_native_gateway
    if request.param == "admin":
        src = metrics_for(gw)
    else:
        prometheus: PrometheusProcess = request.getfixturevalue("prometheus")
        target = admin_target(gw.stats_url)
        prometheus.set_targets([target])
        config = PrometheusConfig(prometheus.url, rate_window="4s", selector=f'instance="{target}"')
        src = metrics_for(gw, prometheus=config)
    assert src is not None
    wait_until(lambda: src.snapshot().ok, timeout=20, what=f"{request.param} source to have data")
    yield src
    src.close()


def _send(gw: NativeConnector, n: int) -> Counter[str]:
    with client(gw) as c:
        return Counter(c.get("/", headers={"host": "canary.test"}).headers["x-backend"] for _ in range(n))


def _force_served_split(gw: NativeConnector, route: str, weights: dict[str, int]) -> None:
    """Make Envoy serve ``weights`` behind the tool's back: its routes file rewritten by hand."""
    path = gw.layout.rds("main")
    doc = json.loads(path.read_text())
    for host in doc["resources"][0]["virtual_hosts"]:
        for r in host["routes"]:
            if r.get("name") == route:
                r["route"].pop("cluster", None)
                r["route"]["weighted_clusters"] = {
                    "clusters": [{"name": f"{route}~{b}", "weight": w} for b, w in weights.items()]
                }
    doc["version_info"] = "hand-forced"
    atomic_write(path, json.dumps(doc))


def test_split_after_a_change_is_consistent_then_a_hand_forced_split_is_not(
    source: MetricsSource, shared_native_gateway: NativeConnector
) -> None:
    gw = shared_native_gateway
    original = gw.get_route("canary")
    applied = Change(gw).apply(gw.plan([set_weights(original, {"v1": 50, "v2": 50})]))
    try:
        first = split_since_change(gw, source, "canary")
        assert first.change is not None and first.change.id == applied.entry.id
        assert first.judgement.verdict == "too-few" and first.judgement.requests < 50, first.to_json()
        # The split counts from the first reading of the counters after the change (the reading
        # before it holds the old split): a few requests until one is counted, then the thousand.
        warm: Counter[str] = Counter()

        def counting() -> bool:
            if split_since_change(gw, source, "canary").judgement.requests > 0:
                return True
            warm.update(_send(gw, 5))
            return False

        wait_until(counting, what="a reading of the counters after the change")
        sent = _send(gw, 1000)
        assert min(sent.values()) > 400  # Envoy served 50/50

        def counted(report: SplitReport, at_least: int) -> SplitReport | None:
            return report if report.judgement.requests >= at_least else None

        report = wait_until(
            lambda: counted(split_since_change(gw, source, "canary"), 1000), what="the 1,000 requests counted"
        )
        # Envoy picks each request's backend at random: one time in twenty a fair 50/50 falls outside
        # its 95 % interval. The verdict must be the one the client's own responses imply.
        # The warm-up requests may fall on either side of the first reading counted from, so at the
        # interval's edge the client-implied verdict is either of the two.
        either = {judge({"v1": 50, "v2": 50}, counts).verdict for counts in (sent + warm, sent)}
        assert report.judgement.verdict in either, (report.judgement.message, sent, warm)
        expected = report.judgement.verdict
        assert "of 1,0" in report.judgement.message or "of 9" in report.judgement.message
        data = report.to_json()
        assert data["change"]["id"] == applied.entry.id and data["verdict"] == expected
        v2 = next(b for b in data["backends"] if b["backend"] == "v2")
        # The interval holds the declared 50 % exactly when the verdict (what the client saw) is consistent.
        assert v2["declared_pct"] == 50
        assert (v2["interval"][0] < 50 < v2["interval"][1]) == (expected == "consistent"), (v2, sent)
        assert v2["requests"] == pytest.approx(sent["v2"], abs=50)

        _force_served_split(gw, "canary", {"v1": 90, "v2": 10})
        wait_until(lambda: _send(gw, 40)["v2"] < 12, what="Envoy to serve the hand-forced split")
        forced = _send(gw, 1000)
        assert forced["v1"] > 800
        report = wait_until(
            lambda: counted(split_since_change(gw, source, "canary"), 1950), what="the next 1,000 requests"
        )
        assert report.judgement.verdict == "inconsistent", report.judgement.message
        assert "not consistent with 50 %" in report.judgement.message
    finally:
        # The hand-forced split is drift now; putting the route back deploys over it on purpose.
        Change(gw).apply(replace(gw.plan([original]), adopt=True))
