"""What an on-call operator found in the canary view, cold, at 160x45 and 100x30 on a real Envoy with
real traffic: the view notices weights changed from outside (another process's ``set-weights``) and
marks the last run as past; a running canary holds on such a change instead of overwriting it; an
edited plan survives leaving the view; promoting when no step had enough traffic to judge asks
first; the start dialog says "(no differences)" once."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input, Select, Static

from connectors.native import NativeConnector
from tests import canary_support
from tests.prometheus_support import Traffic
from tests.test_oncall_canary_stories import open_canary, start
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.canary import CanaryConfirm, CanaryScreen
from tui.screens.confirm import ConfirmScreen
from tui.widgets.step_progress import StepProgressView

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


async def set_weights_elsewhere(gw: NativeConnector, *weights: str) -> None:
    """``canary_support.set_weights_elsewhere`` off the event loop (the console keeps running)."""
    await asyncio.to_thread(canary_support.set_weights_elsewhere, gw, *weights)


def weights(gw: NativeConnector) -> list[int]:
    return [b.weight for b in gw.get_route("canary").backends]


@pytest.mark.parametrize("size", SIZES)
async def test_after_a_promote_the_view_notices_weights_changed_outside(
    shared_native_gateway: NativeConnector, restore_canary: None, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        screen = await open_canary(pilot, app)
        await pilot.press("p")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: screen.state == "promoted", what="the promote")
        info = screen.query_one("#canary-info", Static)
        assert "promoted" in str(info.render())
        await set_weights_elsewhere(gw, "v1=70", "v2=30")
        note = screen.query_one(StepProgressView)
        await wait_until_ui(
            pilot, lambda: "weights changed since to 70/30 (v1/v2)" in note.text, what="the outside change"
        )
        assert "last run: promoted " in note.text, note.text
        assert "promoted" not in str(info.render()).split("·")[-2], "the old run is not shown as current"
        shown = visible_text(app)
        assert "v1 70%" in shown and "weights changed since to 70/30" in shown.replace("\n", " ")
    assert weights(gw) == [70, 30]


@pytest.mark.parametrize("size", SIZES)
async def test_a_running_canary_holds_on_an_outside_change_and_keeps_it(
    shared_native_gateway: NativeConnector, restore_canary: None, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 4):
        async with app.run_test(size=size) as pilot:
            screen = await open_canary(pilot, app)
            await start(pilot, app, screen, steps="20, 50, 100", pause="600")
            await wait_until_ui(pilot, lambda: weights(gw) == [80, 20], what="step 1")
            await set_weights_elsewhere(gw, "v1=70", "v2=30")
            await wait_until_ui(pilot, lambda: screen.state == "held", what="the hold")
            held = [e for e in screen.events if e.kind == "held"]
            assert (
                "changed outside this canary" in held[-1].message and "now 70/30 (v1/v2)" in held[-1].message
            )
            note = screen.query_one(StepProgressView).text
            assert "changed outside this canary" in note and "s resumes" in note, note
            assert " held at 30%: " in note and "held: held" not in note, note
            await pilot.pause(2.5)  # two more checks of the run: it still does not overwrite the change
            assert weights(gw) == [70, 30]
            await pilot.press("a")  # the operator, told, sends all traffic back to stable
            await wait_until_ui(pilot, lambda: screen.state == "aborted", what="the abort")
    assert weights(gw) == [100, 0]
    holds = [e for e in gw.history() if e.kind == "canary" and e.event == "hold"]
    assert holds and "changed outside this canary" in holds[-1].description


@pytest.mark.parametrize("size", SIZES)
async def test_an_edited_plan_is_kept_when_the_view_is_left_and_opened_again(
    shared_native_gateway: NativeConnector, restore_canary: None, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        screen = await open_canary(pilot, app)
        typed = {"#steps": "10, 50, 100", "#pause": "45", "#max-error": "2", "#min-requests": "40"}
        for selector, value in typed.items():
            field = screen.query_one(selector, Input)
            field.focus()
            await pilot.press(*value)  # a focused plan field replaces its value as typed
            await pilot.press("enter")
        screen.query_one("#on-breach", Select).value = "hold"
        await pilot.pause()
        assert screen.query_one("#steps", Input).value == "10, 50, 100"
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: not isinstance(app.screen, CanaryScreen), what="back")
        again = await open_canary(pilot, app)
        assert again is not screen
        kept = {selector: again.query_one(selector, Input).value for selector in typed}
        assert kept == typed
        assert again.query_one("#on-breach", Select).value == "hold"
        assert "plan you edited" in visible_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_promoting_when_no_step_had_enough_traffic_asks_first(
    shared_native_gateway: NativeConnector, restore_canary: None, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 4):
        async with app.run_test(size=size) as pilot:
            screen = await open_canary(pilot, app)
            await start(pilot, app, screen, steps="10, 50, 100", pause="1", min_requests="500", max_wait="2")
            await wait_until_ui(
                pilot, lambda: isinstance(app.screen, ConfirmScreen), seconds=30, what="the question"
            )
            await wait_until_ui(
                pilot, lambda: "No step had enough traffic" in visible_text(app), what="the question drawn"
            )
            shown = visible_text(app).replace("\n", " ")
            assert "Promote anyway?" in shown and "step 1 at 10%: " in shown, shown
            assert weights(gw) == [50, 50], "the step to 100 % waits for the answer"
            unjudged = [e.message for e in screen.events if e.kind == "low-traffic"]
            assert len(unjudged) == 2 and all(m.startswith("continued unjudged: ") for m in unjudged)
            assert " of 500 requests at step 1 (10%)" in unjudged[0]
            await pilot.press("n")
            await pilot.pause(1.5)
            assert screen.state == "held" and weights(gw) == [50, 50]
            # Changed from outside while it waits: said, kept, and not asked about twice.
            await set_weights_elsewhere(gw, "v1=60", "v2=40")
            await wait_until_ui(pilot, lambda: "changed outside" in screen.events[-1].message, what="seen")
            await pilot.pause(0.5)
            assert not isinstance(app.screen, ConfirmScreen) and weights(gw) == [60, 40]
            # The view shows the routes as the console's next poll reads them (within a refresh).
            await wait_until_ui(pilot, lambda: "v1 60%" in visible_text(app), what="the bar at 60/40")
            assert "v1 60%" in visible_text(app) and "declared   60.0%" in visible_text(app)
            await pilot.press("s")  # go on: asks again
            await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked again")
            await pilot.press("y")
            await wait_until_ui(pilot, lambda: screen.state == "promoted", seconds=20, what="promoted")
    assert weights(gw) == [0, 100]


@pytest.mark.parametrize("size", SIZES)
async def test_the_start_dialog_says_no_differences_once(
    shared_native_gateway: NativeConnector, restore_canary: None, size: tuple[int, int]
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        screen = await open_canary(pilot, app)
        screen.query_one("#steps", Input).value = "10, 50, 100"  # 10 %: what the route has now
        await pilot.pause()
        await pilot.press("s")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryConfirm), what="the dialog")
        await pilot.pause()
        shown = visible_text(app)
        assert "nothing changes until the next one" in shown.replace("\n", " ")
        assert shown.count("(no differences)") == 1, shown
        await pilot.press("escape")
