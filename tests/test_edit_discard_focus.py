"""After esc → "Keep editing" the form has its field back at once: keys sent in one burst right
after the dialog closes land in the field that had focus (found cold: ``backspace backspace 4 0``
after "Keep editing" left the rate-limit form showing ``-5``). The demo's real native Envoy."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from connectors.native import NativeConnector
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.edit_rate_limit import RateLimitEditor

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


@pytest.mark.parametrize("size", SIZES)
async def test_keys_sent_at_once_after_keep_editing_reach_the_field(
    demo_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        await pilot.press("slash", *"^api-limited$", "enter", "r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor), what="the form")
        form = app.screen
        assert isinstance(form, RateLimitEditor)
        await pilot.pause()
        requests = form.query_one("#requests", Input)
        assert app.focused is requests and requests.value == "10"
        await pilot.press("-", "5")
        await wait_until_ui(pilot, lambda: "✖" in visible_text(app), what="the invalid value marked")
        assert requests.value == "-5"
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the discard dialog")
        # One burst, as one tmux send-keys: every key queued before the first is handled.
        for key in ["n", "backspace", "backspace", "4", "0"]:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await wait_until_ui(pilot, lambda: app.screen is form, what="the form back")
        await pilot.pause(0.5)
        assert app.focused is requests
        assert requests.value == "40", requests.value


async def test_editing_keys_sent_at_once_apply_in_the_order_typed(demo_gateway: NativeConnector) -> None:
    """Backspace is the field's binding, run once the key reaches the app: it must not fall behind
    the characters sent with it (``-5`` + ``BSpace BSpace 4 0`` made ``-540`` then ``-5``)."""
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        await pilot.press("slash", *"^api-limited$", "enter", "r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor), what="the form")
        requests = app.screen.query_one("#requests", Input)
        await pilot.pause()
        await pilot.press("-", "5")
        assert requests.value == "-5"
        for key in ["backspace", "backspace", "4", "0", "left", "left", "1", "end", "delete", "2"]:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause(0.5)
        assert requests.value == "1402", requests.value
