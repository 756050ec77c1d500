"""The deny form takes keys as fast as an operator types them (found cold in tmux): a burst across
Tab lands in the field it was typed for; the form opens on the first field the operator needs, with
its focus visible; a key typed while a button has focus is said, never silently lost. A real native
gateway, at 160x45 and 100x30; keys posted at once the way one tmux send-keys delivers them."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App
from textual.widgets import Button, Input

from connectors.native import NativeConnector
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.deny_client import DenyScreen
from tui.screens.detail import DetailScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


def burst(app: App[None], keys: list[str]) -> None:
    """One tmux send-keys: every key in the app's queue before the first is handled."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


@pytest.mark.parametrize("size", SIZES)
async def test_keys_typed_across_tab_land_in_the_next_field(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        app.push_screen(DetailScreen("limited"))
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("b")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
        client = app.screen.query_one("#deny-client", Input)
        assert app.focused is client and client.value == ""
        burst(app, [*"x-user-id=bob", "tab", *"404"])
        await pilot.pause(0.5)
        assert client.value == "x-user-id=bob"
        assert app.screen.query_one("#deny-status", Input).value == "404"


@pytest.mark.parametrize("size", SIZES)
async def test_a_prefilled_client_opens_on_for_visibly_and_keys_on_a_button_are_said(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        route = next(r for r in app.routes if r.name == "limited")
        app.push_screen(DenyScreen(route, "x-user-id=crawler-7"))  # as triage's b on a refused user
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
        await pilot.pause()
        duration = app.screen.query_one("#deny-for", Input)
        assert app.focused is duration
        assert duration.selected_text == duration.value == "1h", "focus shows: the value is selected"
        assert "▸ For" in visible_text(app), "the focused field's label is marked"
        burst(app, [*"30m", "tab", "tab", *"2h"])
        await pilot.pause(0.5)
        assert duration.value == "30m"
        assert isinstance(app.focused, Button)
        text = visible_text(app)
        assert "'2h' not typed" in text and "shift+tab" in text, text
