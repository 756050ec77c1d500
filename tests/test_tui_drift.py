"""The console's header says when what Envoy serves differs from what it shows (drift)."""

from __future__ import annotations

from connectors.native import NativeConnector
from tests.test_tui_stories import SIZE, open_console
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp


async def test_a_hand_edit_of_the_yaml_shows_as_drift_in_the_header(native_gateway: NativeConnector) -> None:
    app = ConsoleApp(native_gateway)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        assert "DRIFT" not in visible_text(app)
        text = native_gateway.config_path.read_text()
        text = text.replace("weight: 90   # stable", "weight: 70   # stable")
        native_gateway.config_path.write_text(text.replace("weight: 10   # canary", "weight: 30   # canary"))
        app._want_routes = True  # the next poll reads the routes (and the drift) now
        await wait_until_ui(pilot, lambda: "DRIFT" in visible_text(app), what="DRIFT in the header")
        assert "canary" in visible_text(app)
