"""The rate-limit form on a shadowed route (issue 13 item 1, as a cold operator met it), at 160x45 and
100x30 against a real native Envoy with real requests.

The form offers "Shadow (count, don't refuse)" beside enforced / off / none and opens in the route's
current mode: before anything is typed it previews no change, so a numeric edit keeps the limit
shadowed (nothing gets refused). Enforcing is its own explicit choice, and its diff says
``shadow → enforced``; then Envoy refuses. A route without a limit can be given a shadowed one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, RadioSet, Static

from connectors.change import Change
from connectors.http_client import http_client
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.detail import DetailScreen
from tui.screens.diff import DiffScreen
from tui.screens.edit_rate_limit import RateLimitEditor

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
ROUTE, HOST = "limited", "limited.test"


@pytest.fixture
def shadowed(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    """``limited`` shadowed at 2 a second."""
    gw = shared_native_gateway
    before = gw.gateway()
    Change(gw).apply(gw.plan([set_rate_limit(gw.get_route(ROUTE), RateLimit(2, 1.0, shadow=True))]))
    yield gw
    Change(gw).apply(gw.plan_gateway(before))


def statuses(gw: NativeConnector, n: int, host: str = HOST) -> list[int]:
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        return [c.get("/", headers={"host": host}).status_code for _ in range(n)]


def line(app: ConsoleApp, selector: str) -> str:
    return " ".join(str(app.screen.query_one(selector, Static).render()).split())


async def open_form(pilot: Pilot[None], app: ConsoleApp, route: str) -> RateLimitEditor:
    app.push_screen(DetailScreen(route))
    await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
    await pilot.press("r")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor), what="the rate-limit form")
    form = app.screen
    assert isinstance(form, RateLimitEditor)
    await wait_until_ui(pilot, lambda: form.query_one("#requests", Input).value != "", what="the form loaded")
    return form


def chosen(form: RateLimitEditor) -> str:
    pressed = form.query_one("#mode", RadioSet).pressed_button
    return str(pressed.label) if pressed is not None else ""


async def apply_diff(pilot: Pilot[None], app: ConsoleApp) -> DiffScreen:
    await pilot.press("ctrl+s")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
    diff = app.screen
    assert isinstance(diff, DiffScreen)
    await pilot.press("a")
    await wait_until_ui(pilot, lambda: diff.state == "done", seconds=30, what="applied")
    assert diff.result is not None and diff.result.verification.ok
    return diff


@pytest.mark.parametrize("size", SIZES)
async def test_the_form_opens_a_shadowed_limit_as_shadowed_and_enforcing_is_an_explicit_choice(
    shadowed: NativeConnector, size: tuple[int, int]
) -> None:
    gw = shadowed
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        form = await open_form(pilot, app, ROUTE)
        assert chosen(form) == "Shadow (count, don't refuse)", "opens in the route's current mode"
        assert line(app, "#status") == "now: 2/s (shadow)", "nothing typed: no change previewed"
        assert form.query_one("#apply", Button).disabled

        await pilot.press("5")  # the requests field is focused and selected: 5 replaces 2
        await wait_until_ui(pilot, lambda: "→" in line(app, "#status"))
        assert line(app, "#status") == "2/s (shadow) → 5/s (shadow)", "a numeric edit stays shadowed"
        diff = await apply_diff(pilot, app)
        assert "shadow" in diff.plan.description and "enforced" not in diff.plan.description
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert gw.get_route(ROUTE).rate_limit == RateLimit(5, 1.0, shadow=True)
        assert statuses(gw, 12) == [200] * 12, "still shadowed: nothing refused"

        # Enforcing is its own choice in the form; the diff says so in words.
        shown = RateLimit(5, 1.0, shadow=True)
        await wait_until_ui(pilot, lambda: any(r.rate_limit == shown for r in app.routes), what="the edit")
        form = await open_form(pilot, app, ROUTE)
        assert chosen(form) == "Shadow (count, don't refuse)"
        await pilot.press("shift+tab")  # from the requests field back to the mode choice
        assert isinstance(app.focused, RadioSet)
        await pilot.press("up", "enter")  # Shadow → Enforced (the option above it)
        await wait_until_ui(pilot, lambda: chosen(form).startswith("Enforced"), what="Enforced chosen")
        assert line(app, "#status") == "5/s (shadow) → 5/s (enforced)"
        diff = await apply_diff(pilot, app)
        assert "rate limit 5/s: shadow → enforced" in diff.plan.description
        assert gw.get_route(ROUTE).rate_limit == RateLimit(5, 1.0)
        assert statuses(gw, 12).count(429) >= 5, "enforced: a bucket of 5 refuses the rest"


@pytest.mark.parametrize("size", SIZES)
async def test_the_form_gives_a_route_without_a_limit_a_shadowed_one(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    before = gw.gateway()
    app = ConsoleApp(gw)
    try:
        async with app.run_test(size=size) as pilot:
            await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
            app.push_screen(DetailScreen("host-v1"))
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
            await pilot.press("r")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor))
            form = app.screen
            assert isinstance(form, RateLimitEditor)
            assert chosen(form).startswith("No rate limit")
            # The number fields are disabled without a limit: the mode choice has the focus.
            assert isinstance(app.focused, RadioSet)
            await pilot.press("up", "up", "enter")  # No rate limit → Off → Shadow
            await wait_until_ui(pilot, lambda: chosen(form).startswith("Shadow"), what="Shadow chosen")
            form.query_one("#requests", Input).focus()
            await pilot.press("1")
            await wait_until_ui(pilot, lambda: not form.query_one("#apply", Button).disabled)
            assert line(app, "#status") == "no rate limit → 1/s (shadow)"
            await apply_diff(pilot, app)
        assert gw.get_route("host-v1").rate_limit == RateLimit(1, 1.0, shadow=True)
        assert statuses(gw, 6, "v1.test") == [200] * 6, "shadowed: nothing refused"
    finally:
        Change(gw).apply(gw.plan_gateway(before))
