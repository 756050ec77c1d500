"""Canary messages say only what the run did and what the gateway serves now (issue 11, item 2,
found cold), against a real native Envoy with real traffic: a hold after an outside change names
the weights the run itself set, or says it only read them (a step "already in place")."""

from __future__ import annotations

import threading

import pytest

from connectors.canary import CanaryEvent, CanaryPlan, CanaryRun
from connectors.metrics import MetricsSource
from connectors.native import NativeConnector
from tests.canary_support import set_weights_elsewhere
from tests.prometheus_support import Traffic
from tests.test_canary_evidence import source as source  # the fixture
from tests.test_oncall_canary_stories import open_canary
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.confirm import ConfirmScreen


def held_after_outside_change(gw: NativeConnector, source: MetricsSource, steps: tuple[int, ...]) -> str:
    """Run ``steps`` (first step 1 applied or already in place), change the weights to 70/30 from
    another process, and return the hold's message."""
    events: list[CanaryEvent] = []
    plan = CanaryPlan(steps=steps, pause_s=600)
    run = CanaryRun(gw, source, "canary", "v1", "v2", plan, on_event=events.append, check_every=0.2)
    thread = threading.Thread(target=run.run)
    with Traffic(gw.listener_url(), "canary.test", 4):
        thread.start()
        try:
            wait_until(lambda: any(e.kind == "watch" for e in events), timeout=30, what="step 1 watched")
            set_weights_elsewhere(gw, "v1=70", "v2=30")
            wait_until(lambda: run.state == "held", timeout=30, what="the hold")
        finally:
            run.abort()
            thread.join(30)
    return next(e.message for e in events if e.kind == "held")


def test_a_hold_names_the_weights_the_run_set(gw: NativeConnector, source: MetricsSource) -> None:
    message = held_after_outside_change(gw, source, (20, 50, 100))
    assert "now 70/30 (v1/v2), it had set 80/20 (v1/v2)" in message, message


def test_a_hold_after_a_step_already_in_place_does_not_claim_the_run_set_it(
    gw: NativeConnector, source: MetricsSource
) -> None:
    message = held_after_outside_change(gw, source, (10, 50, 100))  # 90/10 is what the route had
    assert "it had set" not in message, message
    assert "now 70/30 (v1/v2), it had last read 90/10 (v1/v2)" in message, message


def test_a_step_at_zero_percent_does_not_wait_for_requests_that_cannot_come(
    gw: NativeConnector, source: MetricsSource
) -> None:
    """A plan step of 0 % (and a canary at 0 % after an outside change, resumed) goes on at once to
    the plan's first step above 0, saying so, instead of waiting out its maximum wait."""
    set_weights_elsewhere(gw, "v1=100", "v2=0")
    events: list[CanaryEvent] = []
    plan = CanaryPlan(steps=(0, 20, 50), pause_s=600, min_requests=20, max_wait_s=600)
    run = CanaryRun(gw, source, "canary", "v1", "v2", plan, on_event=events.append, check_every=0.2)
    thread = threading.Thread(target=run.run)
    with Traffic(gw.listener_url(), "canary.test", 4):
        thread.start()
        try:
            wait_until(lambda: run.weight == 20, timeout=15, what="step 2 at once")
            zero = [e.message for e in events if "at 0%" in e.message and e.kind == "warning"]
            assert zero == [
                "step 1/3 at 0%: v2 gets no traffic, nothing to judge; going on with step 2 (20%)"
            ]
            set_weights_elsewhere(gw, "v1=100", "v2=0")  # set to 0 from outside: held
            wait_until(lambda: run.state == "held", timeout=15, what="the hold")
            run.resume()  # goes on from 0 %: step 2 applied again, not watched at 0 %
            wait_until(
                lambda: gw.get_route("canary").weight_share()["v2"] == 20.0, timeout=15, what="20% again"
            )
            assert any("going on with step 2 (20%) again" in e.message for e in events)
        finally:
            run.abort()
            thread.join(30)


@pytest.mark.parametrize("size", [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")])
async def test_promoting_by_hand_says_no_step_was_judged(gw: NativeConnector, size: tuple[int, int]) -> None:
    """``p`` asks before all traffic goes to the canary, and says, as the automatic path does, that
    no step had enough traffic to judge; cancelled, nothing changes."""
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 4):
        async with app.run_test(size=size) as pilot:
            await open_canary(pilot, app)
            await pilot.press("p")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
            await wait_until_ui(pilot, lambda: "Promote anyway?" in visible_text(app), what="drawn")
            shown = visible_text(app).replace("\n", " ")
            assert "No step had enough traffic to judge" in shown, shown
            await pilot.press("escape")
            await pilot.pause(0.5)
    assert [b.weight for b in gw.get_route("canary").backends] == [90, 10]
