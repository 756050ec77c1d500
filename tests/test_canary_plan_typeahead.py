"""Keys typed fast across Tab in the canary plan land in the order typed (issue 11, item 2, found
cold: one tmux send-keys ``'10,50,100' Tab '45'`` gave "Steps 10,50,10045"). Pilot presses every key
without a pause in between, against a real native Envoy, at 160x45 and 100x30."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from connectors.native import NativeConnector
from tests.test_oncall_canary_stories import open_canary
from tui.app import ConsoleApp

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


@pytest.mark.parametrize("size", SIZES)
async def test_keys_typed_across_tab_go_to_the_field_they_were_typed_for(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        screen = await open_canary(pilot, app)
        screen.query_one("#steps", Input).focus()
        await pilot.pause()
        # One burst, as one tmux send-keys: every key in the app's queue before the first is handled
        # (Pilot.press waits for the app to be idle after each key, which hides the race).
        burst = [*"10,50,100", "tab", "4", "5", "tab", "7", "shift+tab", "shift+tab", "1"]
        for key in burst:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause(0.5)
        values = [screen.query_one(f"#{name}", Input).value for name in ("steps", "pause", "min-requests")]
        assert values == ["1", "45", "7"], values
