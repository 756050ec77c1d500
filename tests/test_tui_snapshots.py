"""Snapshots of the main screens in each shipped theme (pytest-textual-snapshot).

The data is fixed (``StaticConnector``: no ports, no live numbers, no times) and the terminal size is
fixed, so a snapshot changes only when the screen does. Update with ``--snapshot-update`` and look at
the report before committing new baselines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.test_tui_support import StaticConnector, sample_routes
from tui.app import ConsoleApp
from tui.themes import THEME_ORDER

SIZE = (130, 36)
Compare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


async def _ready(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor would make the snapshot flaky
    await pilot.pause()


def steps(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        for key in keys:
            await pilot.press(key)
            await _ready(pilot)

    return run


SCREENS = {
    "routes": steps(),
    "detail": steps("down", "enter"),
    "weights": steps("down", "w", "minus", "minus"),
    "diff": steps("down", "w", "minus", "ctrl+s"),
    "help": steps("question_mark"),
}


@pytest.mark.parametrize("theme", THEME_ORDER)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare: Compare, monkeypatch: pytest.MonkeyPatch, screen: str, theme: str) -> None:
    monkeypatch.setenv("GATEWAYCTL_THEME", theme)
    app = ConsoleApp(StaticConnector(sample_routes()))
    assert snap_compare(app, terminal_size=SIZE, run_before=SCREENS[screen])
