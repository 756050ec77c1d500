"""``tui.textual_compat`` reaches into Textual's private attributes; these tests drive each wrapper
against the installed Textual and fail loudly when an upgrade renames or changes what it uses (an
AttributeError, or the wrapper no longer having its effect): fix the wrapper, nowhere else."""

from __future__ import annotations

import html
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.textual_compat import mark_styled, notifications, screen_text, set_scroll_extent
from tui.themes import app_variables
from tui.widgets.line_table import Column, LineTable


class Plain(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("plain")


class Table(Screen[None]):
    def compose(self) -> ComposeResult:
        yield LineTable((Column("NAME", "n"),), id="table")


class Host(App[None]):
    MODES = {"first": Table, "second": lambda: mark_styled(Plain())}
    DEFAULT_MODE = "first"

    def get_css_variables(self) -> dict[str, str]:
        return app_variables(super().get_css_variables())  # the table's styles use the console's tokens


async def test_a_marked_view_is_shown_without_restyling_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Host()
    async with app.run_test() as pilot:
        calls: list[Any] = []
        original = app.refresh_css

        def counted(*args: Any, **kwargs: Any) -> None:
            calls.append(args)
            original(*args, **kwargs)

        monkeypatch.setattr(app, "refresh_css", counted)
        app.switch_mode("second")
        await pilot.pause()
        assert calls == [], "switch_mode restyled everything: mark_styled no longer does its job"
        assert "plain" in str(app.screen.query_one(Static).render())


async def test_set_scroll_extent_updates_the_scrollbars() -> None:
    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.screen.query_one(LineTable)
        set_scroll_extent(table, Size(table.size.width, 500))
        await pilot.pause()
        assert table.virtual_size.height == 500
        assert table.max_scroll_y > 0 and table.show_vertical_scrollbar


async def test_notifications_lists_what_the_app_shows() -> None:
    app = Host()
    async with app.run_test(notifications=True) as pilot:
        app.notify("hello", title="Greeting")
        await pilot.pause()
        assert [(n.title, n.message) for n in notifications(app)] == [("Greeting", "hello")]


class Dialog(ModalScreen[None]):
    DEFAULT_CSS = "Dialog { align: center middle; } Dialog Static { width: 20; height: 3; }"

    def compose(self) -> ComposeResult:
        yield Static("are you sure?")


async def test_screen_text_is_what_the_screenshot_shows_a_modal_over_its_view() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        app.switch_mode("second")
        await app.push_screen(Dialog())
        await pilot.pause()
        text = screen_text(app)
        assert len(text.splitlines()) == 12 and max(len(row) for row in text.splitlines()) == 60
        assert "plain" in text and "are you sure?" in text  # the view under the dialog still shows
        svg = app.export_screenshot(simplify=True)
        assert all(html.escape(word).replace(" ", "&#160;") in svg for word in ("plain", "are", "sure?")), (
            "the screenshot shows something else"
        )
