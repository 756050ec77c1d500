"""Keys typed in one burst in the canary plan land as typed (found cold in tmux): Steps replaces its
value like every number field ("10,50,1001, 5, 25, 5" before), and editing keys mixed with characters
(``End BSpace BSpace BSpace 10`` in Pause) apply in order. Pilot posts every key at once, against a
real native Envoy, at 160x45 and 100x30."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App
from textual.widgets import Input

from connectors.native import NativeConnector
from tests.test_oncall_canary_stories import open_canary
from tui.app import ConsoleApp

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


def burst(app: App[None], keys: list[str]) -> None:
    """One tmux send-keys: every key in the app's queue before the first is handled."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


@pytest.mark.parametrize("size", SIZES)
async def test_steps_replaces_its_value_when_typed_into(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        screen = await open_canary(pilot, app)
        await pilot.press("tab")  # from the canary's log into Steps
        burst(app, [*"10,50,100"])
        await pilot.pause(0.5)
        steps = screen.query_one("#steps", Input)
        assert app.focused is steps
        assert steps.value == "10,50,100", steps.value


@pytest.mark.parametrize("size", SIZES)
async def test_end_and_backspaces_then_digits_apply_in_order(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        screen = await open_canary(pilot, app)
        pause = screen.query_one("#pause", Input)
        screen.query_one("#steps", Input).focus()
        await pilot.pause()
        # As typed cold: Tab into Pause, End, three backspaces (more than its digits), then 10.
        burst(app, ["tab", "end", "backspace", "backspace", "backspace", "1", "0"])
        await pilot.pause(0.5)
        assert app.focused is pause
        assert pause.value == "10", pause.value
