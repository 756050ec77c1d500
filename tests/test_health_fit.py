"""``:health`` never cuts a number (a cold operator's report): at 100x30 the Active/max column read
``cx 2/10`` where Envoy's limit is 1024. On a real native Envoy, at 100x30 and 160x45, every
``active/limit`` figure on screen is whole; a sub-field that does not fit is left out with a ``…``."""

from __future__ import annotations

import re

import pytest

from connectors.native import NativeConnector
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.health import HealthScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
FIGURE = re.compile(r"\b(cx|rq|pend) (\d+)/(\d+|-)(\S*)")


@pytest.mark.parametrize("size", SIZES)
async def test_active_and_limits_are_never_cut(
    native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(native_gateway)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        app.run_console_command("health")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HealthScreen))
        screen = app.screen
        assert isinstance(screen, HealthScreen)
        await wait_until_ui(pilot, lambda: screen.view is not None and bool(screen.view.rows))
        await pilot.pause()
        assert screen.view is not None
        limits = {str(v) for b in screen.view.rows for v in b.thresholds.values()}
        text = visible_text(app)
        seen = FIGURE.findall(text)
        assert seen, f"the active/limit figures show (some of them):\n{text}"
        for label, _active, limit, rest in seen:
            assert limit in limits or limit == "-", f"{label} …/{limit} is not a limit Envoy has:\n{text}"
            assert not rest or rest[0] in ",;…", f"{label} {limit}{rest}:\n{text}"
        rows = [line for line in text.splitlines() if FIGURE.search(line)]
        for line in rows:
            names = FIGURE.findall(line)
            if len(names) < 3:  # a sub-field left out says so
                assert "…" in line, f"a dropped sub-field has no sign:\n{line}"
