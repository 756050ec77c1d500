"""The k9s keys README and help promise in every list (issue 11, "keys that cannot hurt", as a cold
tester found them missing in triage): ``j``/``k`` move, ``g``/``G`` (``home``/``end``) go to the top
and bottom — on routes, history, health, time boxes and triage (where ``g`` groups the clients, as
its footer says, and ``home`` goes to the top). The cursor stays where the keys put it across the
view's next refresh. At 160x45 and 100x30 against a real native Envoy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from connectors.change import Change
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.charts import LiveScreen
from tui.widgets.key_table import KeyTable
from tui.widgets.line_table import LineTable

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


def position(table: Any) -> tuple[int, int]:
    """(cursor row, rows) of a LineTable or a DataTable."""
    if isinstance(table, LineTable):
        return table.cursor, table.shown_count
    assert isinstance(table, DataTable)
    return table.cursor_row, table.row_count


async def moves_like_k9s(pilot: Pilot[None], table: Any, top: str = "g", view: str = "routes") -> None:
    """j, k, G and g (or ``top``) move the focused table's cursor as in k9s."""
    table.focus()
    await wait_until_ui(pilot, lambda: position(table)[1] >= 3, what="at least three rows")
    await pilot.press(top)
    await wait_until_ui(pilot, lambda: position(table)[0] == 0, what=f"{view} {top}: the first row")
    await pilot.press("j")
    await wait_until_ui(pilot, lambda: position(table)[0] == 1, what=f"{view} j: one row down")
    await pilot.press("j", "k")
    await wait_until_ui(pilot, lambda: position(table)[0] == 1, what="j then k: back up one")
    await pilot.press("G")
    last = position(table)[1] - 1
    await wait_until_ui(pilot, lambda: position(table)[0] == last, what=f"{view} G: the last row")
    await pilot.press(top)
    await wait_until_ui(pilot, lambda: position(table)[0] == 0, what=f"{top}: back to the first row")
    await pilot.press("end")
    await wait_until_ui(pilot, lambda: position(table)[0] == last, what="end: the last row")


async def after_a_refresh(pilot: Pilot[None], screen: LiveScreen[Any]) -> None:
    """Wait until the live view has shown a new fetch (its rows were filled again)."""
    shown: list[object] = []
    original: Callable[[Any], None] = screen.show

    def counting(view: Any) -> None:
        original(view)
        shown.append(view)

    screen.show = counting  # type: ignore[method-assign,assignment]
    await wait_until_ui(pilot, lambda: len(shown) >= 2, what="two refreshes of the view")


def mounted(app: ConsoleApp, selector: str) -> Callable[[], bool]:
    return lambda: bool(app.screen.query(selector))


@pytest.fixture
def limits(native_gateway: NativeConnector) -> NativeConnector:
    """Four routes with a rate limit (four triage rows) and three time-boxed changes."""
    gw = native_gateway
    for name in ("host-v1", "host-v2", "path-v1"):
        Change(gw).apply(gw.plan([set_rate_limit(gw.get_route(name), RateLimit(100, 1.0))]))
    for args in (
        ["set-weights", "canary", "v1=50", "v2=50"],
        ["deny", "host-v1", "--client", "x-user-id=a"],
        ["set-rate-limit", "limited", "--requests", "9"],
    ):
        assert main([*args, "--for", "1h", "--gateway", str(gw.state_dir)]) == 0
    return gw


@pytest.mark.parametrize("size", SIZES)
async def test_j_k_g_G_move_in_every_list(limits: NativeConnector, size: tuple[int, int]) -> None:
    app = ConsoleApp(limits)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        await moves_like_k9s(pilot, app.screen.query_one("#routes", LineTable))

        for view, table_id in (("history", "#history"), ("health", "#health"), ("timeboxes", "#boxes")):
            app.run_console_command(view)
            await wait_until_ui(pilot, mounted(app, table_id), what=view)
            table = app.screen.query_one(table_id)
            await moves_like_k9s(pilot, table, view=view)
            if isinstance(app.screen, LiveScreen):
                await pilot.press("G")
                await after_a_refresh(pilot, app.screen)
                assert position(table)[0] == position(table)[1] - 1, f"{view}: G stays after a refresh"

        app.run_console_command("triage")
        await wait_until_ui(pilot, lambda: bool(app.screen.query("#triage")), what="triage")
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        table = screen.query_one("#triage", DataTable)
        await moves_like_k9s(pilot, table, top="home", view="triage")
        await pilot.press("G")
        await after_a_refresh(pilot, screen)
        assert position(table)[0] == position(table)[1] - 1, "triage: G stays after a refresh"
        assert isinstance(table, KeyTable) and getattr(screen, "route", None) == table.cursor_key
