"""Rate-limit triage ranks the routes refusing the most requests first, says since when, and the
screen leads straight to the route's rate-limit editor. Live parts use a real native gateway."""

from __future__ import annotations

import time

from textual.widgets import DataTable

from connectors.metrics import RouteStats, Snapshot, metrics_for
from connectors.model import RateLimit, Route, WeightedBackend
from connectors.native import NativeConnector
from connectors.triage import LimitedRoute, limiting_since, rank, triage
from tests.prometheus_support import Traffic
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.triage import TriageScreen


def _route(name: str, limit: RateLimit | None = None) -> Route:
    return Route(name, (WeightedBackend("v1", 100),), rate_limit=limit)


def test_routes_are_ranked_by_429s_now_then_by_share_refused() -> None:
    routes = [
        _route("quiet", RateLimit(100)),
        _route("busy", RateLimit(10)),
        _route("small", RateLimit(1)),
        _route("unlimited"),
        _route("upstream-429"),
    ]
    snap = Snapshot(
        time=0.0,
        routes={
            "quiet": RouteStats("quiet", rps=50.0),
            "busy": RouteStats("busy", rps=200.0, limited_rps=40.0),
            "small": RouteStats("small", rps=45.0, limited_rps=40.0),
            "unlimited": RouteStats("unlimited", rps=500.0),
            "upstream-429": RouteStats("upstream-429", rps=10.0, limited_rps=2.0),
        },
        source="test",
    )
    rows = rank(routes, snap, {"busy": (1000.0, False), "quiet": (900.0, False)})
    assert [r.route for r in rows] == ["small", "busy", "upstream-429", "quiet"]
    small, busy, _, quiet = rows
    assert small.limited_pct > busy.limited_pct == 20.0
    assert busy.since == 1000.0 and busy.limiting_for(1060.0) == 60.0
    assert quiet.since is None and not quiet.limiting  # not limiting now: no stretch
    assert small.limit == RateLimit(1)


def test_the_current_stretch_of_429s_starts_after_the_last_quiet_step() -> None:
    times = tuple(float(t) for t in range(3, 31, 3))  # ten 3-second steps ending at 30
    values: list[float | None] = [5, 5, 0, 0, 4, None, 6, 7, 8, None]
    assert limiting_since(times, values, 3.0) == (12.0, False)  # from the step 12..15, one gap forgiven
    assert limiting_since(times, [*values[:-2], 0, None], 3.0) == (None, False)
    assert limiting_since(times, [1.0] * 10, 3.0) == (0.0, True)  # limiting since before the window


def test_triage_against_a_real_gateway_ranks_the_limited_route_first(
    shared_native_gateway: NativeConnector,
) -> None:
    gw = shared_native_gateway
    source = metrics_for(gw)
    assert source is not None
    try:
        with Traffic(gw.listener_url(), "limited.test", 10), Traffic(gw.listener_url(), "canary.test", 30):

            def ranked() -> list[LimitedRoute] | None:
                rows = triage(gw, source)
                return rows if rows and rows[0].limited_rps > 5 and rows[0].since is not None else None

            rows = wait_until(ranked, timeout=15, what="the limited route to rank first at full rate")
        top = rows[0]
        assert top.route == "limited" and top.limit == RateLimit(5, 60.0, 5)
        assert top.limited_rps > 5 and top.limited_pct > 50
        assert 0 <= top.limiting_for(time.time()) < 30  # type: ignore[operator]
        assert all(r.route != "canary" for r in rows)  # no limit and no 429s: not a triage row
    finally:
        source.close()


async def test_triage_screen_shows_the_limited_route_first_and_opens_its_editor(
    shared_native_gateway: NativeConnector,
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "limited.test", 10, {"x-user-id": "mallory"}):
        async with app.run_test(size=(140, 44)) as pilot:
            await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
            await wait_until_ui(pilot, lambda: app.metrics_source is not None)
            app.run_console_command("triage")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
            screen = app.screen
            assert isinstance(screen, TriageScreen)

            def limited_first() -> bool:
                view = screen.view
                return (
                    view is not None
                    and bool(view.rows)
                    and view.rows[0].route == "limited"
                    and view.rows[0].limiting
                )

            await wait_until_ui(pilot, limited_first)
            table = screen.query_one("#triage", DataTable)
            assert table.get_row_at(0)[0].plain == "limited"
            assert float(table.get_row_at(0)[1].plain) > 0
            # Group the refused clients by the logged header instead of the address.
            await wait_until_ui(
                pilot, lambda: screen.view is not None and "x-user-id" in screen.view.client_keys
            )
            await pilot.press("g")
            assert screen.by == "x-user-id"
            clients = screen.query_one("#clients", DataTable)
            await wait_until_ui(
                pilot, lambda: clients.row_count > 0 and clients.get_row_at(0)[0] == "mallory"
            )
            await pilot.press("r")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor))
            editor = app.screen
            assert isinstance(editor, RateLimitEditor) and editor.original.name == "limited"
