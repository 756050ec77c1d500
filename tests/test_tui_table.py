"""The routes table at 10,000 routes: filter as you type, sort, keep the cursor, show live figures.

Uses the in-memory connector (a real Envoy with 10,000 routes would test Envoy, not the table).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from connectors.errors import NotFound
from connectors.metrics.types import RouteStats
from connectors.model import WeightedBackend
from tests.test_tui_support import (
    StaticConnector,
    many_routes,
    replace,
    sample_routes,
    visible_text,
    with_route,
)
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.help import HelpScreen
from tui.screens.routes import RoutesScreen
from tui.textual_compat import notifications
from tui.widgets.key_hints import KeyHints
from tui.widgets.line_table import LineTable


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


async def _loaded(pilot: Pilot[None]) -> LineTable:
    await wait_until_ui(pilot, lambda: pilot.app.routes_loaded, what="the routes")  # type: ignore[attr-defined]
    screen = pilot.app.screen
    assert isinstance(screen, RoutesScreen)
    return screen.table


async def test_ten_thousand_routes_filter_sort_and_scroll() -> None:
    app = ConsoleApp(StaticConnector(many_routes(10_000)))
    async with app.run_test(size=(140, 40)) as pilot:
        table = await _loaded(pilot)
        assert table.total_count == 10_000 and table.shown_count == 10_000

        await pilot.press("slash", *"route-0999")
        assert table.shown_keys == [f"route-0999{i}" for i in range(10)]
        await pilot.press("home", "exclamation_mark", "enter")
        assert table.shown_count == 9_990 and table.cursor_key == "route-00000"
        await pilot.press("escape")
        assert table.shown_count == 10_000

        await pilot.press("N")  # already in name order: shift+N flips it
        await pilot.press("N")
        assert table.shown_keys[0] == "route-09999"
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_key == "route-00000"
        assert "route-00000" in visible_text(app), "the last row is drawn after jumping to the bottom"


async def test_a_filter_that_is_not_a_regex_is_matched_as_text() -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(140, 30)) as pilot:
        table = await _loaded(pilot)
        await pilot.press("slash", "left_square_bracket", "a")
        assert table.shown_keys == ["search"]  # its match is ~/search/[a-z]+: the "[a" as text
        await pilot.press("x")
        assert table.shown_count == 0
        assert "not a regex" in visible_text(app)
        await pilot.press("escape")
        assert table.shown_count == len(sample_routes())


async def test_cursor_stays_on_its_route_when_the_list_changes() -> None:
    connector = StaticConnector(sample_routes())
    app = ConsoleApp(connector)
    async with app.run_test(size=(140, 30)) as pilot:
        table = await _loaded(pilot)
        await pilot.press("j", "j", "j")
        assert table.cursor_key == "checkout"
        changed = replace(
            connector.gateway.route("shop"), backends=(WeightedBackend("v1", 70), WeightedBackend("v2", 30))
        )
        with_route(connector, changed)
        app.refresh_now()
        await _loaded(pilot)
        await pilot.pause()
        assert table.cursor_key == "checkout"
        assert table.row_for("shop") is not None and "v1 70%" in (table.row_for("shop") or ("",))[3]


async def test_live_figures_fill_the_columns_and_sort_busiest_first() -> None:
    connector = StaticConnector(sample_routes())
    connector.snapshot_routes = {
        "shop": RouteStats("shop", rps=5.0, p99_ms=12.0),
        "api": RouteStats("api", rps=80.0, error_pct=4.5, p99_ms=30.0),
        "api-limited": RouteStats("api-limited", rps=3.0, limited_rps=2.0),
    }
    app = ConsoleApp(connector)
    async with app.run_test(size=(140, 30)) as pilot:
        table = await _loaded(pilot)
        # the metrics source is opened after the routes show, then polled
        await wait_until_ui(pilot, lambda: app.snapshot is not None, what="the first metrics snapshot")
        await pilot.press("R")
        await pilot.pause()
        assert table.shown_keys[:3] == ["api", "shop", "api-limited"]
        text = visible_text(app)
        assert "80.0" in text and "4.5" in text and "30ms" in text
        # Status colours come from the theme: the degraded row's figures use $route-degraded.
        degraded = table.get_component_rich_style("line-table--degraded").color
        assert degraded is not None and degraded.triplet is not None
        assert degraded.triplet.hex.upper() == app.current_theme.variables["route-degraded"].upper()


async def test_lost_connection_shows_and_comes_back() -> None:
    connector = StaticConnector(sample_routes())
    app = ConsoleApp(connector)
    async with app.run_test(size=(140, 30)) as pilot:
        await _loaded(pilot)
        connector.down = True
        app.refresh_now()
        await wait_until_ui(pilot, lambda: app.connection.status == "lost", what="the connection to be lost")
        assert "down" in app.connection.reason
        # the status line shows it on the next repaint
        await wait_until_ui(pilot, lambda: "connection lost" in visible_text(app), what="'connection lost'")
        connector.down = False
        await wait_until_ui(pilot, lambda: app.connection.summary == "connected", what="a reconnection")
        assert app.connection.summary == "connected", "it reconnects by itself (backoff)"


async def test_the_console_opens_before_the_gateway_and_retries_a_failed_open() -> None:
    """The CLI hands the console an opener: the first frame never waits for the gateway, a gateway that
    cannot be opened is shown with its reason and retried, and the console closes what it opened."""
    opened: list[StaticConnector] = []

    def opener() -> StaticConnector:
        if not opened and not failures:
            failures.append(1)
            raise NotFound("no native gateway named 'edge'")
        opened.append(StaticConnector(sample_routes()))
        return opened[-1]

    failures: list[int] = []
    app = ConsoleApp(opener=opener)
    async with app.run_test(size=(140, 30)) as pilot:
        assert isinstance(app.screen, RoutesScreen), "the routes view is up before any gateway answers"
        await wait_until_ui(pilot, lambda: app.connection.status == "lost", what="the failed open")
        assert "no native gateway named 'edge'" in app.connection.reason
        assert any("no native gateway" in n.message for n in notifications(app)), "said once, as a toast"
        await pilot.press("ctrl+r")  # retry now instead of after the backoff
        table = await _loaded(pilot)
        assert app.connection.summary == "connected"
        assert table.total_count == len(sample_routes())
    assert len(opened) == 1 and opened[0].closed, "the console closes the gateway it opened"


async def test_the_footer_lists_the_views_keys_and_a_click_presses_one() -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(140, 30)) as pilot:
        await _loaded(pilot)
        footer = visible_text(app).splitlines()[-1]
        for hint in (": Command", "u Undo", "e Edit", "/ Filter", "? Help", "palette"):
            assert hint in footer, (hint, footer)
        column = footer.index("? Help")
        await pilot.click(KeyHints, offset=(column + 2, 0))
        await wait_until_ui(
            pilot, lambda: isinstance(app.screen, HelpScreen), what="the help: a click presses its key"
        )
