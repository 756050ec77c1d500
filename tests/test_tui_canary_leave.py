"""Leaving a running canary (issue 11, "Keys that cannot hurt"), at 160x45 and 100x30, on a real
native Envoy: ``esc`` (or ``q``) on the canary view while a run steps asks first — leaving stops the
stepping, as the README says — and ``n`` keeps the run going; ``y`` leaves with the weights as they are.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from connectors.change import Change
from connectors.native import NativeConnector
from tests.native_support import DemoBackends
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.canary import CanaryConfirm, CanaryScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.routes import RoutesScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


@pytest.fixture
def gw(shared_native_gateway: NativeConnector, backends: DemoBackends) -> Iterator[NativeConnector]:
    before = shared_native_gateway.get_route("canary")
    yield shared_native_gateway
    backends.reset()
    if shared_native_gateway.get_route("canary") != before:
        Change(shared_native_gateway).apply(shared_native_gateway.plan([before]))


async def _running(pilot: Pilot[None], app: ConsoleApp) -> CanaryScreen:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    await wait_until_ui(pilot, lambda: app.metrics_source is not None)
    app.run_console_command("canary canary")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen) and bool(app.screen.canary))
    screen = app.screen
    assert isinstance(screen, CanaryScreen)
    for field, value in (("#steps", "10, 50, 100"), ("#pause", "600")):  # it stays on step 1
        screen.query_one(field, Input).value = value
    await pilot.pause()
    screen.focus_body()
    await pilot.press("s")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryConfirm), what="the plan to confirm")
    await pilot.press("s")
    await wait_until_ui(pilot, lambda: screen.run is not None and screen.state == "running", what="the run")
    return screen


@pytest.mark.parametrize("key", ["escape", "q"])
@pytest.mark.parametrize("size", SIZES)
async def test_leaving_a_running_canary_asks_first(
    gw: NativeConnector, size: tuple[int, int], key: str
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        screen = await _running(pilot, app)
        await pilot.press(key)
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.pause()
        assert "stops stepping" in " ".join(visible_text(app).split())
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and screen.run is not None and screen.run.state == "running"

        await pilot.press(key)
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what="the routes view")
        run = screen.run
        assert run is not None
        await wait_until_ui(pilot, lambda: run.state == "cancelled", what="the stepping to stop")
    assert gw.get_route("canary").weight_share() == {"v1": 90.0, "v2": 10.0}, "weights left as they were"


async def test_esc_on_a_canary_that_is_not_running_leaves_at_once(gw: NativeConnector) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        app.run_console_command("canary canary")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen))
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what="the routes view")
