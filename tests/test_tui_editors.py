"""The weights editor's keys, as an operator shifting a canary uses them (in-memory gateway: the keys
are the console's; applying through a real Envoy is in test_tui_stories)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.test_tui_support import StaticConnector, sample_routes
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.edit_weights import WeightsEditor


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


async def _weights_of_shop(pilot: Pilot[None]) -> WeightsEditor:
    app = pilot.app
    await wait_until_ui(pilot, lambda: app.routes_loaded, what="the routes")  # type: ignore[attr-defined]
    await pilot.press("w")  # the cursor is on "shop": v1 90 / v2 10
    await pilot.pause()
    assert isinstance(app.screen, WeightsEditor)
    return app.screen


def _weights(editor: WeightsEditor) -> list[str]:
    return [editor.query_one(f"#weight-{i}", Input).value for i in range(2)]


async def test_shift_keys_move_traffic_to_the_picked_backend_and_it_stays_picked() -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _weights_of_shop(pilot)
        steps = [
            ("plus", ["85", "15"]),  # the canary (v2) is picked first
            ("right_square_bracket", ["84", "16"]),
            ("equals_sign", ["79", "21"]),
            ("minus", ["84", "16"]),
            ("left_square_bracket", ["85", "15"]),
            ("up", ["85", "15"]),  # pick v1
            ("plus", ["90", "10"]),
            ("plus", ["95", "5"]),
        ]
        for key, expected in steps:
            await pilot.press(key)
            await pilot.pause()
            assert _weights(editor) == expected, key


async def test_p_steps_through_the_presets_and_digits_still_type_a_weight() -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _weights_of_shop(pilot)
        # From 90/10 the first preset is the one after it.
        for expected in (["50", "50"], ["0", "100"], ["100", "0"], ["90", "10"]):
            await pilot.press("p")
            await pilot.pause()
            assert _weights(editor) == expected
        await pilot.press("3", "0")  # a digit on the bar types v2's weight: 30, so v1 takes 70
        await pilot.pause()
        assert _weights(editor) == ["70", "30"]
