"""The on-call operator's canary stories, at 160x45 and at 100x30, on a real Envoy with real traffic:
a canary from 90/10 at demo-like traffic reaches 100 % with steps 10, 50, 100 (each step judged on
its own requests, a low-traffic step said and gone past, the progress live on screen); a canary
backend answering 20 % 500s aborts by itself and real requests all reach stable again; a run left by
a console that died is found when the console starts, said where it was left, and aborted."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from connectors.canary import CanaryPlan
from connectors.canary_state import CanaryState, CanaryStateStore
from connectors.change import Change
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, client
from tests.prometheus_support import Traffic
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.canary import CanaryConfirm, CanaryScreen
from tui.screens.canary_left import LeftOverCanary
from tui.widgets.split_panel import SplitPanel
from tui.widgets.step_progress import StepProgressView

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


def answered_by(gw: NativeConnector, n: int = 50) -> Counter[str]:
    with client(gw) as c:
        return Counter(c.get("/", headers={"host": "canary.test"}).headers["x-backend"] for _ in range(n))


async def open_canary(pilot: Pilot[None], app: ConsoleApp) -> CanaryScreen:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    await wait_until_ui(pilot, lambda: app.metrics_source is not None)
    app.run_console_command("canary canary")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen) and bool(app.screen.canary))
    screen = app.screen
    assert isinstance(screen, CanaryScreen)
    return screen


async def start(pilot: Pilot[None], app: ConsoleApp, screen: CanaryScreen, **fields: str) -> None:
    """Type the plan (``min_requests="5"`` fills ``#min-requests``), ``s``, then ``s`` in the dialog."""
    for name, value in fields.items():
        screen.query_one(f"#{name.replace('_', '-')}", Input).value = value
        await pilot.pause()
    screen.focus_body()
    await pilot.press("s")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryConfirm), what="the plan's dialog")
    await pilot.press("s")
    await wait_until_ui(pilot, lambda: screen.run is not None)


@pytest.mark.parametrize("size", SIZES)
async def test_a_canary_from_ninety_ten_at_demo_traffic_reaches_one_hundred(
    shared_native_gateway: NativeConnector, restore_canary: None, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    seen: list[str] = []  # the live progress lines, as shown
    with Traffic(gw.listener_url(), "canary.test", 4):  # the demo's rate, all on this route
        async with app.run_test(size=size) as pilot:
            screen = await open_canary(pilot, app)
            assert (screen.stable, screen.canary) == ("v1", "v2")
            # The 100 % step needs a step judged on enough requests: 50 % of 4 req/s gives 3 in well under
            # the 8 s maximum wait even on a busy machine (the wait ends as soon as they are in).
            await start(pilot, app, screen, steps="10, 50, 100", pause="2", min_requests="3", max_wait="8")
            progress = screen.query_one(StepProgressView)

            def promoted() -> bool:
                text = progress.text
                if "canary requests" in text and text not in seen:
                    seen.append(text)
                return screen.state == "promoted"

            await wait_until_ui(pilot, promoted, seconds=40, what="the canary promoted")
            kinds = [e.kind for e in screen.events]
            assert [e.weight for e in screen.events if e.kind == "step"] == [10, 50, 100]
            # 10 % of 4 req/s rarely gives 3 requests in 8 s: said, then gone past (or judged); 50 % can.
            assert "low-traffic" in kinds or "passed" in kinds
            assert any("of 3 canary requests" in t and "s left" in t and "errors" in t for t in seen), seen
            info = str(screen.query_one("#canary-info", Static).render())
            assert "promoted" in info
            assert "promoted" in visible_text(app)
    assert gw.get_route("canary").weight_share() == {"v1": 0.0, "v2": 100.0}
    assert answered_by(gw) == Counter({"v2": 50})


@pytest.mark.parametrize("size", SIZES)
async def test_a_canary_answering_one_in_five_with_500_aborts_by_itself(
    shared_native_gateway: NativeConnector,
    backends: DemoBackends,
    restore_canary: None,
    size: tuple[int, int],
) -> None:
    gw = shared_native_gateway
    backends.v2.fail_rate = 0.2
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 50):
        async with app.run_test(size=size) as pilot:
            screen = await open_canary(pilot, app)
            await start(pilot, app, screen, steps="10, 50, 100", pause="2", min_requests="30", max_error="1")
            await wait_until_ui(pilot, lambda: screen.state == "aborted", seconds=40, what="the abort")
            kinds = [e.kind for e in screen.events]
            assert "breach" in kinds and kinds[-1] == "aborted"
            breach = next(e for e in screen.events if e.kind == "breach")
            assert "v2 errors" in breach.message and "> 1% threshold" in breach.message
            note = screen.query_one(StepProgressView).text
            assert "aborted" in note and "v1" in note, note
            assert "aborted" in visible_text(app)
            # The split panel counts from the abort: all of it on stable.
            split = screen.query_one("#split", SplitPanel)
            await wait_until_ui(
                pilot, lambda: split.report is not None and split.report.judgement.requests > 0
            )
    assert gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0}
    assert answered_by(gw) == Counter({"v1": 50})


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


async def test_a_canary_left_by_a_console_that_died_is_offered_and_aborted(
    shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    gw = shared_native_gateway
    Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 50, "v2": 50})]))
    plan = CanaryPlan(steps=(10, 50, 100), pause_s=30, min_requests=5, max_wait_s=60)
    title = gw.info().title
    store = CanaryStateStore(title)
    left = CanaryState(
        "deadbeef",
        title,
        "canary",
        "v1",
        "v2",
        plan.to_json(),
        1,
        50,
        "running",
        "watching step 2",
        pid=dead_pid(),
    )
    store.save(left)
    app = ConsoleApp(gw)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until_ui(pilot, lambda: isinstance(app.screen, LeftOverCanary), what="the question")
        # The dialog is on the stack before it has painted; wait for its words, not for a fixed time.
        await wait_until_ui(pilot, lambda: "step 2/3" in visible_text(app), what="the question's text")
        shown = visible_text(app)
        assert "left running at step 2/3, 50%" in shown.replace("\n", " ") or "step 2/3" in shown, shown
        await pilot.press("a")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen))
        screen = app.screen
        assert isinstance(screen, CanaryScreen)
        assert screen.query_one("#min-requests", Input).value == "5"  # its plan, as it was
        await wait_until_ui(pilot, lambda: screen.state == "aborted", seconds=20, what="the abort")
    assert gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0}
    assert store.load("canary") is None and store.left_over() == []
    assert answered_by(gw) == Counter({"v1": 50})
