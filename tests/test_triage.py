"""Rate-limit triage ranks the routes refusing the most requests first, says since when, and the
screen leads straight to the route's rate-limit editor. Live parts use a real native gateway."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from connectors.demo.runner import DemoOptions, DemoRunner
from connectors.metrics import RouteStats, Snapshot, metrics_for
from connectors.metrics.counts import RouteCounts
from connectors.model import RateLimit, Route, WeightedBackend
from connectors.native import NativeConnector
from connectors.triage import LimitedRoute, limiting_since, rank, stretch, triage
from tests.native_support import require_envoy
from tests.prometheus_support import Traffic
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.triage import TriageScreen


def _route(name: str, limit: RateLimit | None = None) -> Route:
    return Route(name, (WeightedBackend("v1", 100),), rate_limit=limit)


def test_routes_are_ranked_by_429s_over_the_window_then_by_429s_now() -> None:
    routes = [
        _route("quiet", RateLimit(100)),
        _route("busy", RateLimit(10)),
        _route("small", RateLimit(1)),
        _route("unlimited"),
        _route("upstream-429"),
        _route("burst-earlier", RateLimit(5)),
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
    window = {
        "busy": RouteCounts("busy", 6000, 1200, 1200, limited_at=((950, 600), (999, 600))),
        "small": RouteCounts("small", 1300, 1200, 1200, limited_at=((999, 1200),)),
        # Nothing refused this second, 220 over the window: still on the board, above "quiet".
        "burst-earlier": RouteCounts("burst-earlier", 400, 220, 220, limited_at=((800, 220),)),
    }
    rows = rank(routes, snap, {"busy": (950.0, False), "small": (999.0, False)}, window)
    assert [r.route for r in rows] == ["small", "busy", "burst-earlier", "upstream-429", "quiet"]
    small, busy, earlier, _, quiet = rows
    assert small.limited_pct > busy.limited_pct == 20.0
    assert busy.since == 950.0 and busy.limiting_for(1010.0) == 60.0 and busy.last == 1000.0
    assert earlier.limited == 220 and earlier.limited_rps == 0 and not earlier.limiting
    assert quiet.since is None and not quiet.limiting and quiet.limited == 0
    assert small.limit == RateLimit(1)


def test_a_stretch_of_limiting_survives_quiet_seconds_between_bursts() -> None:
    bursts = [(t, 20) for t in range(1000, 1300, 15)]  # every 15 s, the demo's crawler
    assert stretch(bursts, 1290.0) == (1000.0, False)
    assert stretch(bursts, 1290.0, looked_from=990.0) == (1000.0, True)  # began before we looked
    assert stretch([(900, 5), *bursts], 1290.0) == (1000.0, False)  # a gap over a minute ends a stretch
    assert stretch(bursts, 1286.0 + 61) == (None, False)  # quiet for over a minute: not limiting
    assert stretch([], 1000.0) == (None, False)


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
                # Over the window: the first 5 requests the bucket allowed count too, until the 429s
                # outnumber them (a second at 10 req/s).
                top = rows[0] if rows else None
                full = top is not None and top.limited_rps > 5 and top.since is not None
                return rows if full and top is not None and top.limited_pct > 50 else None

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
                    and view.rows[0].limited_rps > 0
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


# -- over a window, with the demo's own traffic ------------------------------------------------


def test_triage_over_five_minutes_keeps_the_bursting_route_first_and_names_the_crawler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's traffic: a few users, and every few seconds a burst from crawler-7 larger than the
    limited route's bucket. Between bursts no request is refused: ranked by the last second, triage
    said "0 routes limiting now" most of the time. Over a window it must not."""
    require_envoy()
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # admin stats: the demo without Prometheus
    options = DemoOptions(
        state_dir=tmp_path / "demo",
        listener_port=0,
        stats_port=0,
        backend_ports=(("v1", 0), ("v2", 0)),
        traffic_rate=4.0,
        burst_every=4.0,
    )
    runner = DemoRunner(options)
    try:
        ctx = runner.start()
        gw, traffic = ctx.connector, ctx.traffic
        assert gw is not None and traffic is not None
        source = metrics_for(gw)
        assert source is not None
        try:
            wait_until(
                lambda: (rows := triage(gw, source, window_s=300)) and rows[0].limited > 0,
                timeout=20,
                what="the first burst's 429s (Envoy flushes its access log every second)",
            )
            samples = []
            bursts = traffic.stats.bursts
            # Sample through two burst periods, quiet seconds included.
            while traffic.stats.bursts < bursts + 2:
                samples.append(triage(gw, source, window_s=300))
            assert len(samples) >= 5
            for rows in samples:
                top = rows[0]
                assert top.route == "api-limited" and top.limited > 0 and top.limiting, rows
            refused = traffic.stats.by_status[429]

            def all_refused() -> list[tuple[str, int]] | None:
                found = source.top_limited_clients("api-limited", "x-user-id", 300)
                return found if sum(n for _, n in found) >= refused else None

            clients = wait_until(all_refused, what="every 429 in the access log")
            assert clients[0][0] == "crawler-7"
            last = triage(gw, source, window_s=300)[0]
            assert last.limited >= refused and last.since is not None and last.since <= time.time() - 4
        finally:
            source.close()
    finally:
        assert runner.stop() == []
