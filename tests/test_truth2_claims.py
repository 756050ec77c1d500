"""The console never claims what the gateway did not do (found cold, real native Envoy): a
time-box revert's split line says what the revert did, not what it undid."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from connectors.canary_state import CanaryStateStore
from connectors.change import Change
from connectors.change.timebox import revert_expired
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.split import SplitReport, judge, last_weight_change
from tests.native_support import DemoBackends
from tests.waiting import wait_until
from tui.widgets.split_panel import since_line


@pytest.fixture
def gw(shared_native_gateway: NativeConnector, backends: DemoBackends) -> Iterator[NativeConnector]:
    gw = shared_native_gateway
    before = gw.get_route("canary")
    yield gw
    backends.reset()
    CanaryStateStore(gw.info().title).clear("canary")
    plan = gw.plan([before])
    if not plan.is_empty:
        Change(gw).apply(plan)


def test_the_split_line_after_a_time_box_revert_says_what_the_revert_did(gw: NativeConnector) -> None:
    route = gw.get_route("canary")
    assert [b.weight for b in route.backends] == [90, 10]
    change = Change(gw)
    plan = change.plan_routes([set_weights(route, {"v1": 10, "v2": 90})])
    result = change.apply(plan)
    change.revert_later(result, 1.0)
    wait_until(lambda: bool(revert_expired(gw)), timeout=15, what="the time box to revert")
    assert [b.weight for b in gw.get_route("canary").backends] == [90, 10]
    last = last_weight_change(gw.history(), "canary")
    assert last is not None and last.undoes == result.entry.id
    report = SplitReport("canary", last, judge({"v1": 90.0, "v2": 10.0}, {}), 0, "admin", "")
    line = since_line(report, time.time()).plain
    assert "v1 10→90" in line and "v2 90→10" in line, line
    assert "v1 90→10" not in line, line
    assert f"undid {result.entry.id[:8]}" in line, line
