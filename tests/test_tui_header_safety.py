"""The header line keeps the safety marker at every supported size (a cold operator's report): on a
real native Envoy, at 100x30 and 160x45, READ-ONLY shows while connected, while the connection is
lost, and while the ``/`` filter prompt is open; the view name never runs into the gateway name."""

from __future__ import annotations

import pytest

from connectors.native import NativeConnector
from tests.test_tui_stories import open_console
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


def header(app: ConsoleApp) -> str:
    return visible_text(app).splitlines()[0]


@pytest.mark.parametrize("size", SIZES)
async def test_readonly_marker_shows_at_every_size(
    native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(native_gateway, readonly=True)
    async with app.run_test(size=size) as pilot:
        await open_console(pilot)
        line = header(app)
        assert "READ-ONLY" in line, line
        assert "routes  " in line and "connected" in line, line

        # The filter prompt opens below the header; the header stays.
        await pilot.press("slash")
        await pilot.pause()
        line = header(app)
        assert "READ-ONLY" in line and "gatewayctl" in line, line
        await pilot.press("escape")
        await pilot.pause()

        native_gateway.stop()
        await wait_until_ui(pilot, lambda: app.connection.status == "lost", what="the connection lost")
        await pilot.pause()
        line = header(app)
        assert "READ-ONLY" in line, line
        assert "▸ routes " in line, line
