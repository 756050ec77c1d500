"""The console never claims what the gateway did not do (found cold, real native Envoy): a
time-box revert's split line says what the revert did, not what it undid."""

from __future__ import annotations

import asyncio
import time

from textual.widgets import Static

from connectors.change import Change
from connectors.change.timebox import revert_expired
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.split import SplitReport, judge, last_weight_change
from tests.canary_support import set_weights_elsewhere
from tests.prometheus_support import Traffic
from tests.test_oncall_canary_stories import open_canary, start
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.diff import DiffScreen
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.widgets.canary_sides import CanarySides
from tui.widgets.split_panel import since_line


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


async def test_a_rate_limit_only_change_shows_the_effective_burst_and_lists_only_what_changed(
    demo_gateway: NativeConnector,
) -> None:
    """api-limited (10/s, burst 20) raised to 50 from the form: the form shows the bucket Envoy will
    run (burst 50), and the applied result lists the rate limit with its burst, not the weights
    the change did not touch."""
    gw = demo_gateway
    before = gw.gateway()
    app = ConsoleApp(gw)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
            await pilot.press("slash", *"^api-limited$", "enter", "r")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor), what="the form")
            await pilot.pause()
            await pilot.press("5", "0")
            await wait_until_ui(pilot, lambda: "raised to the new rate" in visible_text(app), what="the note")
            shown = visible_text(app)
            assert "→  50/s burst 50 (enforced)" in shown, shown
            assert "burst 50" in shown.split("Burst", 1)[1].split("\n", 1)[0], shown
            await pilot.press("ctrl+s")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
            diff = app.screen
            assert isinstance(diff, DiffScreen)
            await pilot.press("a")
            await wait_until_ui(pilot, lambda: diff.state == "done", seconds=30, what="applied")
            shown = visible_text(app)
            assert "api-limited: rate limit 50/s burst 50" in shown, shown
            assert "api-limited: weights" not in shown, shown
    finally:
        Change(gw).apply(gw.plan_gateway(before))


async def test_a_promote_question_open_when_the_run_promotes_is_closed_and_records_no_second_promote(
    shared_native_gateway: NativeConnector, gw: NativeConnector
) -> None:
    """``p`` while the run goes on: it promotes by itself under the open question. The question
    does not stay up with the old weights, and answering it records no second promote."""
    since = time.time()
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 4):
        async with app.run_test(size=(160, 45)) as pilot:
            screen = await open_canary(pilot, app)
            await start(pilot, app, screen, steps="10, 50, 100", pause="2", min_requests="3", max_wait="4")
            await pilot.press("p")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
            await wait_until_ui(
                pilot, lambda: screen.state == "promoted", seconds=40, what=f"the promote {screen.events}"
            )
            await pilot.pause(0.3)
            shown = visible_text(app).replace("\n", " ")
            still = isinstance(app.screen, ConfirmScreen)
            assert not still or "has already promoted" in shown, shown
            if isinstance(app.screen, ConfirmScreen):
                await pilot.press("y")
            await pilot.pause(1.0)
            await wait_until_ui(pilot, lambda: not screen.workers, what="nothing more applied")
            assert [e.kind for e in screen.events].count("promoted") == 1, [e.message for e in screen.events]
    promotes = [e for e in gw.history() if e.time >= since and e.event == "promote"]
    assert len(promotes) <= 1, [e.description for e in promotes]
    assert gw.get_route("canary").weight_share() == {"v1": 0.0, "v2": 100.0}


async def test_equal_weights_set_from_outside_do_not_swap_stable_and_canary(gw: NativeConnector) -> None:
    """At 10/90 the canary view calls v2 stable; another process sets 50/50: the open view keeps v2
    as stable (a tie is no reason to swap), and so does the view opened again."""
    set_weights_elsewhere(gw, "v1=10", "v2=90")
    app = ConsoleApp(gw)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_canary(pilot, app)
        assert (screen.stable, screen.canary) == ("v2", "v1")
        await asyncio.to_thread(set_weights_elsewhere, gw, "v1=50", "v2=50")
        await wait_until_ui(pilot, lambda: "v1 50%" in visible_text(app), what="the new weights shown")
        await pilot.pause(2.5)  # a refresh or two at the new weights
        assert (screen.stable, screen.canary) == ("v2", "v1")
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: not isinstance(app.screen, type(screen)), what="left")
        again = await open_canary(pilot, app)
        await pilot.pause(0.5)
        assert (again.stable, again.canary) == ("v2", "v1"), visible_text(app)
        stable_side = str(again.query_one(CanarySides).query_one("#side-stable", Static).render())
        assert "v2" in stable_side, stable_side


async def test_a_card_shows_no_p99_without_requests_and_says_what_window_its_figures_cover(
    gw: NativeConnector,
) -> None:
    """The cards' req/s, errors and p99 are over the last few seconds (the gate's over the step):
    each card says so, and a backend with no requests in that window shows no p99 (not a number
    left from earlier traffic)."""
    with Traffic(gw.listener_url(), "canary.test", 8):
        await asyncio.sleep(2.0)  # some traffic on both, then none
    app = ConsoleApp(gw)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_canary(pilot, app)
        sides = screen.query_one(CanarySides)

        def cards() -> list[str]:
            return [str(sides.query_one(f"#side-{r}", Static).render()) for r in ("stable", "canary")]

        await wait_until_ui(pilot, lambda: all("req/s" in c for c in cards()), what="the cards")
        await pilot.pause(6.0)  # past the rate window: no requests in it
        for card in cards():
            assert "req/s now" in card and "p99 now" in card, card
            rps = card.split("req/s now", 1)[1].split()[0]
            if rps == "0.0":
                assert card.split("p99 now", 1)[1].split() == ["—"], card
