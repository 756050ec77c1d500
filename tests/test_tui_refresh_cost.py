"""Live views redraw only what changed, and never show an old figure as current.

A refresh that found the same rows leaves the table alone (cursor and all); one whose figures ticked
updates those cells on that same refresh; new or reordered rows rebuild the table. Triage with the
cursor off its first row refreshes once per ``refresh_seconds``, as every live view does: it used to
refill its table, highlight the first row on the way, fetch for it, and refill again, non-stop (77%
of a core on the demo). Against a real native Envoy where a view is involved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Static

from connectors.change import Change
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.charts import LiveScreen
from tui.widgets.key_table import KeyTable
from tui.widgets.unchanged import TableRows, update_static


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        table = KeyTable(id="t", cursor_type="row")
        table.add_columns("Route", "429s", "since")
        yield table
        yield Static("", id="s")


def rows(*figures: tuple[str, str, str]) -> list[tuple[str | None, tuple[Any, ...]]]:
    return [(route, (route, Text(count, justify="right"), since)) for route, count, since in figures]


async def test_the_same_rows_leave_the_table_alone_and_a_ticking_figure_shows_at_once() -> None:
    app = OneTable()
    async with app.run_test() as pilot:
        table = app.query_one("#t", KeyTable)
        shown = TableRows()
        first = rows(("api", "3", "12s"), ("shop", "0", "—"), ("web", "9", "40s"))
        assert shown.fill(table, first) == "rebuilt"
        await pilot.pause()
        table.move_cursor(row=2)
        await pilot.pause()

        assert shown.fill(table, rows(("api", "3", "12s"), ("shop", "0", "—"), ("web", "9", "40s"))) == "same"
        assert table.cursor_row == 2

        ticked = rows(("api", "4", "13s"), ("shop", "0", "—"), ("web", "9", "41s"))
        assert shown.fill(table, ticked) == "cells"
        assert str(table.get_cell("api", table.ordered_columns[1].key)) == "4"
        assert table.get_cell("web", table.ordered_columns[2].key) == "41s"
        assert table.cursor_row == 2, "a figure that ticked does not move the operator's cursor"

        styled = rows(("api", "4", "13s"), ("shop", "0", "—"), ("web", "9", "41s"))
        styled[0] = ("api", ("api", Text("4", style="bold red", justify="right"), "13s"))
        assert shown.fill(table, styled) == "cells", "a style of its own is a change on screen"
        assert table.get_cell("api", table.ordered_columns[1].key).style == "bold red"

        wider = rows(("api", "4,000", "13s"), ("shop", "0", "—"), ("web", "9", "41s"))
        assert shown.fill(table, wider) == "rebuilt", "a wider figure re-measures its column"
        assert shown.fill(table, rows(("web", "9", "41s"), ("api", "4", "1s"))) == "rebuilt"
        assert [str(r.key.value) for r in table.ordered_rows] == ["web", "api"]


async def test_a_static_is_updated_only_when_what_it_shows_changes() -> None:
    app = OneTable()
    async with app.run_test():
        line = app.query_one("#s", Static)
        assert update_static(line, Content("3 routes"))
        assert not update_static(line, Content("3 routes"))
        assert update_static(line, Content.styled("3 routes", "bold")), "same text, new style: shown"
        assert update_static(line, "4 routes")
        assert str(line.content) == "4 routes"


def counting_shows(screen: LiveScreen[Any]) -> list[float]:
    shown: list[float] = []
    original: Callable[[Any], None] = screen.show

    def counting(view: Any) -> None:
        original(view)
        shown.append(time.monotonic())

    screen.show = counting  # type: ignore[method-assign,assignment]
    return shown


async def test_triage_on_its_last_row_refreshes_once_a_second_not_non_stop(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    for name in ("host-v1", "host-v2", "path-v1"):
        Change(gw).apply(gw.plan([set_rate_limit(gw.get_route(name), RateLimit(100, 1.0))]))
    app = ConsoleApp(gw)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        app.run_console_command("triage")
        await wait_until_ui(pilot, lambda: bool(app.screen.query("#triage")), what="triage")
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        table = screen.query_one("#triage", DataTable)
        await wait_until_ui(pilot, lambda: table.row_count >= 3, what="three limited routes")
        table.focus()
        await pilot.press("G")
        last = table.row_count - 1
        await wait_until_ui(pilot, lambda: table.cursor_row == last, what="the last row")
        shown = counting_shows(screen)
        await wait_until_ui(pilot, lambda: len(shown) >= 1, what="a refresh on the last row")
        await wait_until_ui(pilot, lambda: len(shown) >= 5, what="four more refreshes")
        seconds = shown[-1] - shown[0]
        per_second = (len(shown) - 1) / seconds
        assert per_second < 2.5 / screen.refresh_seconds, f"{len(shown)} refreshes in {seconds:.2f} s"
        assert table.cursor_row == last, "the cursor stays on the row the operator chose"
        assert getattr(screen, "route", None) == str(table.ordered_rows[last].key.value)
