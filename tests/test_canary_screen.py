"""The canary view, driven with the keyboard on a real native gateway: a nonsensical plan is refused
in the form and nothing starts; a failing canary, confirmed once, aborts by itself and the log shows
each applied step's diff; real requests then all reach stable."""

from __future__ import annotations

from collections import Counter

from textual.pilot import Pilot
from textual.widgets import Input, Static

from connectors.native import NativeConnector
from tests.native_support import DemoBackends, client
from tests.prometheus_support import Traffic
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.canary import CanaryConfirm, CanaryScreen


async def _open(pilot: Pilot[None], app: ConsoleApp) -> CanaryScreen:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    await wait_until_ui(pilot, lambda: app.metrics_source is not None)
    app.run_console_command("canary canary")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen) and bool(app.screen.canary))
    screen = app.screen
    assert isinstance(screen, CanaryScreen)
    return screen


async def _type(pilot: Pilot[None], screen: CanaryScreen, widget: str, text: str) -> None:
    field = screen.query_one(widget, Input)
    field.value = text
    await pilot.pause()
    screen.focus_body()


async def test_a_step_above_100_is_refused_in_the_form_and_nothing_starts(
    shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    gw = shared_native_gateway
    history = len(gw.history())
    app = ConsoleApp(gw)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = await _open(pilot, app)
        assert (screen.stable, screen.canary) == ("v1", "v2")  # the heavier backend is stable
        await _type(pilot, screen, "#steps", "20, 150")
        await _type(pilot, screen, "#max-error", "250")
        await pilot.press("s")
        shown = screen.query_one("#plan-error", Static)
        await wait_until_ui(
            pilot, lambda: "150% is above 100%" in str(shown.render()), what="the plan's errors"
        )
        errors = str(shown.render())
        assert "150% is above 100%" in errors and "error threshold of 250% makes no sense" in errors
        assert not isinstance(app.screen, CanaryConfirm) and screen.run is None
    assert len(gw.history()) == history


async def test_a_failing_canary_confirmed_once_aborts_by_itself(
    shared_native_gateway: NativeConnector, backends: DemoBackends, restore_canary: None
) -> None:
    gw = shared_native_gateway
    backends.v2.fail_rate = 0.5
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 50):
        async with app.run_test(size=(130, 44)) as pilot:
            screen = await _open(pilot, app)
            await _type(pilot, screen, "#steps", "25, 50, 100")
            await _type(pilot, screen, "#pause", "10")
            await _type(pilot, screen, "#max-error", "5")
            await pilot.press("s")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryConfirm))
            confirm = app.screen
            assert isinstance(confirm, CanaryConfirm)
            first = str(confirm.query_one("#first-diff", Static).render())
            assert "weight: 25" in first and "weight: 75" in first
            await pilot.press("s")
            await wait_until_ui(pilot, lambda: screen.state == "aborted")
            kinds = [e.kind for e in screen.events]
            assert "breach" in kinds and kinds[-1] == "aborted"
            steps = [e for e in screen.events if e.kind == "step"]
            assert [e.weight for e in steps] == [25, 0]
            assert all(e.diff for e in steps)  # each applied step's diff went to the log
            info = str(screen.query_one("#canary-info", Static).render())
            assert "aborted" in info
    assert gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0}
    with client(gw) as c:
        answered = Counter(
            c.get("/", headers={"host": "canary.test"}).headers["x-backend"] for _ in range(50)
        )
    assert answered == Counter({"v1": 50})
