"""Findable and fitting (issue 11, item 6), at 160x45 and 100x30: chart scopes by keys and backends
overlaid; canary actions in the palette; a screenshot saved where the operator can find it and
saying where; Tab completes ``:`` commands and route names; every screen usable at 100x30."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from connectors.native import NativeConnector
from tests.prometheus_support import Traffic
from tests.test_tui_support import StaticConnector, sample_routes, visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.canary import CanaryScreen
from tui.screens.charts import ChartsScreen
from tui.screens.edit_cors import CorsEditor
from tui.screens.routes import RoutesScreen
from tui.screens.triage import TriageScreen
from tui.widgets.chart import TimeChart
from tui.widgets.command_line import CommandLine

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


async def _connected(pilot: Pilot[None]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    return app


def _info(screen: ChartsScreen) -> str:
    return str(screen.query_one("#chart-info", Static).render())


# -- charts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_chart_scopes_by_keys_and_every_backend_on_one_chart(
    size: tuple[int, int], shared_native_gateway: NativeConnector
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 20):
        async with app.run_test(size=size) as pilot:
            await _connected(pilot)
            await wait_until_ui(pilot, lambda: app.metrics_source is not None)
            await pilot.press("colon", *"charts", "enter")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, ChartsScreen))
            screen = app.screen
            assert isinstance(screen, ChartsScreen)
            await pilot.press("g")
            await wait_until_ui(pilot, lambda: _info(screen).startswith("whole gateway"))
            for key in ("g", "r", "b", "o"):
                assert f" {key} " in visible_text(app).splitlines()[-1], f"{key} is in the footer"
            routes = [r.name for r in app.routes]
            await pilot.press("r")
            await wait_until_ui(pilot, lambda: _info(screen).startswith(f"route {routes[0]} ·"))
            while screen.scope.route != "canary":
                await pilot.press("r")
                await pilot.pause()
            await pilot.press("b")
            await wait_until_ui(pilot, lambda: _info(screen).startswith("route canary → v1"))
            await pilot.press("o")
            await wait_until_ui(pilot, lambda: _info(screen).startswith("route canary · every backend"))
            traffic = screen.query_one("#chart-traffic", TimeChart)
            await wait_until_ui(
                pilot, lambda: [s.label for s in traffic.series] == ["v1 req/s", "v2 req/s"], what="overlay"
            )
            await wait_until_ui(pilot, lambda: "v2 req/s" in visible_text(app), what="the legend shown")
            await pilot.press("g")
            await wait_until_ui(pilot, lambda: _info(screen).startswith("whole gateway"))


# -- the command palette --------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_canary_actions_are_in_the_palette_and_the_plan_fits(
    size: tuple[int, int], shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        app.run_console_command("canary canary")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen) and bool(app.screen.canary))
        shown = visible_text(app)
        assert "On breach" in shown and "abort" in shown.split("On breach", 1)[1].splitlines()[0]
        assert "Max p99 ms" in shown and "Steps %" in shown
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"canary")
        await wait_until_ui(pilot, lambda: "Canary: promote" in visible_text(app), what="the canary actions")
        shown = visible_text(app)
        assert "Canary: abort" in shown and "Canary: start / pause" in shown


@pytest.mark.parametrize("downloads", [False, True], ids=["no-downloads", "downloads"])
async def test_the_palette_screenshot_says_where_it_is(home: Path, downloads: bool) -> None:
    if downloads:
        (home / "Downloads").mkdir()
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _connected(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"screenshot")
        await wait_until_ui(pilot, lambda: "Screenshot" in visible_text(app))
        await pilot.press("enter")
        folder = home / "Downloads" if downloads else Path(home.parent / "state" / "screenshots")
        await wait_until_ui(pilot, lambda: folder.is_dir() and any(folder.glob("*.svg")), what="the file")
        saved = next(folder.glob("*.svg"))
        await wait_until_ui(pilot, lambda: "Screenshot saved" in visible_text(app), what="the toast")
        toast = "".join(visible_text(app).split())  # the path, wrapped over the toast's lines
        assert "".join(str(saved).split())[-40:] in toast.replace("▌", "").replace("▐", "")


# -- Tab completion -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_tab_completes_commands_and_route_names(size: tuple[int, int], home: Path) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        await pilot.press("colon", *"hist", "tab")
        prompt = app.screen.query_one(CommandLine)
        assert prompt.value == "history" and prompt.has_focus
        await pilot.press("ctrl+u", *"canary che", "tab")
        assert prompt.value == "canary checkout"
        await pilot.press("ctrl+u", *"charts api-l", "tab")
        assert prompt.value == "charts api-limited"
        await pilot.press("escape", "slash", *"sear", "tab")
        assert prompt.value == "search"


# -- 100x30 ---------------------------------------------------------------------------------------


async def test_at_100x30_the_cors_probe_and_apply_are_reachable(home: Path) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(100, 30)) as pilot:
        await _connected(pilot)
        await pilot.press("slash", *"^api$", "enter", "c")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CorsEditor))
        form = app.screen
        assert "Apply… (ctrl+s)" in visible_text(app), "Apply is on screen"
        for _ in range(20):
            if isinstance(form.focused, Button) and form.focused.id == "probe":
                break
            await pilot.press("tab")
        await pilot.pause()
        assert form.focused is form.query_one("#probe", Button)
        probe = form.query_one("#probe", Button)
        assert probe.region.y + probe.region.height <= 30 and probe.region.y >= 0
        assert "Probe" in visible_text(app) and "Apply… (ctrl+s)" in visible_text(app)
        assert form.query_one("#probe-origin", Input).region.height > 0


@pytest.mark.parametrize("size", SIZES)
async def test_the_triage_legend_is_not_cut(
    size: tuple[int, int], shared_native_gateway: NativeConnector
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        await wait_until_ui(pilot, lambda: app.metrics_source is not None)
        await pilot.press("colon", *"triage", "enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
        await wait_until_ui(pilot, lambda: "allowed/s" in visible_text(app), what="the whole legend")
        assert "rate-limited (429)/s" in visible_text(app)
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen))
