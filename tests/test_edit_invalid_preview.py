"""While a field is invalid the form never previews a plan the gateway would not take: the line under
the rate-limit form and the discard dialog name the invalid field ("→  (requests invalid)") instead
of "10/s burst 20 → -5/s burst 20". The demo's real native Envoy."""

from __future__ import annotations

from textual.widgets import Input

from connectors.native import NativeConnector
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.edit_rate_limit import RateLimitEditor


async def test_an_invalid_value_is_named_not_previewed(demo_gateway: NativeConnector) -> None:
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        await pilot.press("slash", *"^api-limited$", "enter", "r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor), what="the form")
        form = app.screen
        await pilot.pause()
        await pilot.press("-", "5")
        await wait_until_ui(pilot, lambda: "✖" in visible_text(app), what="the invalid value marked")
        text = visible_text(app)
        assert "10/s burst 20 (enforced)  →  (requests invalid)" in text, text
        assert "-5/s" not in text
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the discard dialog")
        text = visible_text(app)
        assert "(requests invalid)" in text and "-5/s" not in text, text
        await pilot.press("n")
        await wait_until_ui(pilot, lambda: app.screen is form)
        form.query_one("#requests", Input).value = "40"
        await wait_until_ui(pilot, lambda: "10/s burst 20 (enforced)  →  40/s" in visible_text(app))
        assert "invalid)" not in visible_text(app)
