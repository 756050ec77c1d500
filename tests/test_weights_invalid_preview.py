"""While a weight is invalid the weights form never previews an impossible split (found cold: 999
typed into v1 showed "v1 50% v2 50% → v1 70999% v2 30%"): the line under the form names the field,
"→ (v1 weight invalid)", as the rate-limit form does. A real native gateway, 160x45 and 100x30."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from connectors.native import NativeConnector
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.edit_weights import WeightsEditor

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


@pytest.mark.parametrize("size", SIZES)
async def test_an_out_of_range_weight_is_named_not_previewed(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        await pilot.press("slash", *"^canary$", "enter", "w")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, WeightsEditor), what="the weights form")
        form = app.screen
        await pilot.pause()
        form.query_one("#weight-0", Input).focus()
        await pilot.pause()
        for key in "999":  # one burst
            app.post_message(events.Key(key, key))
        await wait_until_ui(pilot, lambda: "✖" in visible_text(app), what="the invalid weight marked")
        text = visible_text(app)
        assert "v1 90%  v2 10%  →  (v1 weight invalid)" in text, text
        assert "999%" not in text
