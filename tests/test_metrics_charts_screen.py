"""The charts view on a real native gateway: live series for a route, window and scope keys, and a
dead Prometheus shown as "no data since …" in the charts instead of a freeze or a traceback."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Static

from connectors.demo.ports import free_port
from connectors.native import NativeConnector
from tests.prometheus_support import Traffic
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.charts import ChartsScreen
from tui.widgets.chart import TimeChart


async def _charts(pilot: Pilot[None], app: ConsoleApp, route: str) -> ChartsScreen:
    await wait_until_ui(
        pilot, lambda: app.connection.status == "connected" and app.metrics_source is not None
    )
    app.run_console_command(f"charts {route}")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, ChartsScreen))
    screen = app.screen
    assert isinstance(screen, ChartsScreen)
    return screen


def _info(screen: ChartsScreen) -> str:
    return str(screen.query_one("#chart-info", Static).render())


async def test_route_charts_follow_the_traffic_and_switch_window_and_scope(
    shared_native_gateway: NativeConnector,
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 30):
        async with app.run_test(size=(120, 44)) as pilot:
            screen = await _charts(pilot, app, "canary")

            def rps() -> float:
                series = screen.last.get("rps") if screen.last is not None else None
                return (series.last or 0) if series is not None else 0

            await wait_until_ui(pilot, lambda: rps() > 5)
            assert _info(screen).startswith("route canary · last 5m · 3 s steps · envoy-admin")
            traffic = screen.query_one("#chart-traffic", TimeChart)
            assert {s.key for s in traffic._series} >= {"rps", "2xx"}
            await pilot.press("2")
            await wait_until_ui(pilot, lambda: screen.last is not None and screen.last.window_s == 3600)
            assert "last 1h · 30 s steps" in _info(screen)
            await pilot.press("b")
            await wait_until_ui(pilot, lambda: screen.last is not None and screen.last.scope.backend == "v1")
            assert _info(screen).startswith("route canary → v1 · last 1h")


async def test_a_dead_prometheus_reads_no_data_since_on_the_charts(
    shared_native_gateway: NativeConnector,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = ConsoleApp(shared_native_gateway, prometheus=dead)
    async with app.run_test(size=(120, 44)) as pilot:
        screen = await _charts(pilot, app, "canary")
        await wait_until_ui(pilot, lambda: screen.last is not None)
        assert screen.last is not None and not screen.last.ok
        assert "no data since" in _info(screen) and f"cannot reach Prometheus at {dead}" in _info(screen)
        traffic = screen.query_one("#chart-traffic", TimeChart)
        assert traffic._status.startswith("no data since")
        await pilot.press("1")  # keys still work: the UI never waited for Prometheus
        assert isinstance(app.screen, ChartsScreen)
