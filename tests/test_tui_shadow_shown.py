"""What a route's policies read as in the console (issue 13, a cold tester): the detail view names
the deny rules (with how many clients) as ``describe`` does, and the routes table never shows a
shadowed limit as a plain ``ratelimit`` that refuses traffic. At 160x45 and 100x30 against a real
native Envoy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from textual.widgets import Static

from connectors.change import Change
from connectors.model import Deny, DenyClient, RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.detail import DetailScreen
from tui.widgets.line_table import LineTable

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
ROUTE = "limited"
CLIENTS = (DenyClient("header", "bob", "x-user-id"), DenyClient("ip", "203.0.113.0/24"))


@pytest.fixture
def shadowed_and_denying(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    gw = shared_native_gateway
    before = gw.gateway()
    route = set_rate_limit(gw.get_route(ROUTE), RateLimit(2, 1.0, shadow=True))
    Change(gw).apply(gw.plan([replace(route, deny=Deny(CLIENTS))]))
    yield gw
    Change(gw).apply(gw.plan_gateway(before))


@pytest.mark.parametrize("size", SIZES)
async def test_the_detail_view_and_routes_table_show_deny_and_shadow(
    shadowed_and_denying: NativeConnector, size: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    gw = shadowed_and_denying
    capsys.readouterr()
    assert main(["describe", ROUTE, "--gateway", str(gw.state_dir)]) == 0
    described = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Policies:"))
    assert "ratelimit 2/s (shadow)" in described and "deny" in described

    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        table = app.screen.query_one("#routes", LineTable)
        await wait_until_ui(pilot, lambda: table.row_for(ROUTE) is not None)
        policies = (table.row_for(ROUTE) or ())[4].split()
        assert "ratelimit(shadow)" in policies and "ratelimit" not in policies, policies
        assert "deny(2)" in policies, policies
        if size[0] >= 160:  # wide enough to show the whole cell
            assert "ratelimit(shadow) deny(2)" in visible_text(app), [
                x for x in visible_text(app).splitlines() if "limited" in x
            ]

        app.push_screen(DetailScreen(ROUTE))
        await wait_until_ui(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.query("#describe")
        )
        describe = app.screen.query_one("#describe", Static)
        await wait_until_ui(pilot, lambda: "ratelimit" in str(describe.render()))
        lines = [" ".join(x.split()) for x in str(describe.render()).splitlines()]
        assert any(x.endswith("ratelimit 2/s (shadow)") for x in lines), lines
        denied = next((x for x in lines if "deny " in x), "")
        assert "deny 2 clients: x-user-id=bob, ip=203.0.113.0/24 (403)" in denied, lines
