"""Nothing stale after Envoy dies (issues 11 and 13): the counts triage ranks by say "no data since …"
from either metrics source instead of a made-up 100 % refusal rate, the routes view's live figures
turn to "—" as soon as the gateway stops answering, triage in the console says "no data since …",
and the quit dialog says Envoy is not answering instead of "listening". Real Envoy killed with
SIGKILL, real Prometheus scraping it, real traffic."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from connectors.demo.prometheus import PrometheusProcess
from connectors.errors import MetricsError
from connectors.metrics import MetricsSource, PrometheusConfig, metrics_for
from connectors.native import NativeConnector
from connectors.native.process import pid_alive
from connectors.triage import triage
from tests.prometheus_support import Traffic, admin_target
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.triage import TriageScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
NO_VALUE = "—"


def _kill(gw: NativeConnector) -> None:
    pid = gw.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), what="Envoy to die")


@pytest.fixture
def scraped(prometheus: PrometheusProcess, native_gateway: NativeConnector) -> Iterator[str]:
    """The Prometheus URL, scraping this test's gateway (which the test kills)."""
    prometheus.set_targets([admin_target(native_gateway.stats_url)])
    yield prometheus.url


def _source(gw: NativeConnector, kind: str, prometheus_url: str | None) -> MetricsSource:
    if kind == "prometheus":
        assert prometheus_url is not None
        source = metrics_for(gw, prometheus=PrometheusConfig(prometheus_url, rate_window="5s"))
    else:
        source = metrics_for(gw)
    assert source is not None
    return source


def _limited_traffic(gw: NativeConnector, source: MetricsSource) -> float:
    """Traffic with 429s until triage sees both refused and allowed requests; when it began."""
    began = time.time()
    with Traffic(gw.listener_url(), "limited.test", 10), Traffic(gw.listener_url(), "canary.test", 10):

        def counted() -> bool:
            counts = source.counts(began)
            limited = counts.routes.get("limited")
            return counts.ok and limited is not None and 0 < limited.limited < limited.requests

        wait_until(counted, timeout=30, what="429s and allowed requests counted")
    return began


@pytest.mark.parametrize("kind", ["envoy-admin", "prometheus"])
def test_counts_say_no_data_once_envoy_dies_instead_of_a_made_up_refusal_rate(
    native_gateway: NativeConnector, request: pytest.FixtureRequest, kind: str
) -> None:
    gw = native_gateway
    url = request.getfixturevalue("scraped") if kind == "prometheus" else None
    source = _source(gw, kind, url)
    try:
        began = _limited_traffic(gw, source)
        rows = triage(gw, source, 60.0)
        assert rows and rows[0].route == "limited" and rows[0].limited_pct < 100
        _kill(gw)

        def refused() -> str | None:
            counts = source.counts(began)
            return None if counts.ok else counts.status

        status = wait_until(refused, timeout=15, what="the counts to say the gateway's figures stopped")
        assert status.startswith("no data since "), status
        with pytest.raises(MetricsError, match="no data since "):
            triage(gw, source, 60.0)
    finally:
        source.close()


async def _connected(pilot: Pilot[None], app: ConsoleApp) -> None:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)


def _words(app: ConsoleApp) -> str:
    """The screen's words in order, whatever the wrapping (a dialog's border left out)."""
    return " ".join(visible_text(app).replace("█", " ").split())


def _row(app: ConsoleApp, route: str) -> list[str]:
    line = next(ln for ln in visible_text(app).splitlines() if ln.split()[:1] == [route])
    return line.split()


@pytest.mark.parametrize("size", SIZES)
async def test_routes_view_figures_go_blank_and_quit_says_envoy_is_not_answering(
    native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    gw = native_gateway
    app = ConsoleApp(gw, stops_on_quit="the demo gateway test-gw")
    with Traffic(gw.listener_url(), "canary.test", 10):
        async with app.run_test(size=size) as pilot:
            await _connected(pilot, app)
            await wait_until_ui(
                pilot, lambda: _row(app, "canary")[-4] not in (NO_VALUE, "0.0"), what="live req/s"
            )
            await pilot.press("q")
            await wait_until_ui(pilot, lambda: "Quit gatewayctl?" in visible_text(app), what="the question")
            assert isinstance(app.screen, ConfirmScreen)
            assert f"(Envoy listening on {gw.listener_url()})" in _words(app)
            await pilot.press("n")

            _kill(gw)
            await wait_until_ui(pilot, lambda: app.connection.status == "lost", what="the connection lost")
            await wait_until_ui(
                pilot, lambda: _row(app, "canary")[-4:] == [NO_VALUE] * 4, seconds=5, what="blank figures"
            )
            await pilot.press("q")
            await wait_until_ui(pilot, lambda: "Quit gatewayctl?" in visible_text(app), what="the question")
            shown = _words(app)
            assert "Envoy listening on" not in shown
            assert "the demo gateway test-gw (Envoy not answering: " in shown
            await pilot.press("n")


@pytest.mark.parametrize("size", SIZES)
async def test_console_triage_says_no_data_when_envoy_dies(
    native_gateway: NativeConnector, scraped: str, size: tuple[int, int]
) -> None:
    gw = native_gateway
    app = ConsoleApp(gw, prometheus=scraped)
    source = _source(gw, "prometheus", scraped)
    try:
        _limited_traffic(gw, source)
    finally:
        source.close()
    async with app.run_test(size=size) as pilot:
        await _connected(pilot, app)
        await wait_until_ui(pilot, lambda: app.metrics_source is not None, what="the metrics source")
        app.run_console_command("triage")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
        screen = app.screen
        assert isinstance(screen, TriageScreen)
        await wait_until_ui(pilot, lambda: screen.view is not None and bool(screen.view.rows), seconds=20)
        _kill(gw)
        await wait_until_ui(
            pilot, lambda: "no data since" in visible_text(app), seconds=20, what="no data since"
        )
        assert screen.view is not None and not screen.view.rows, "no figures made up"
        text = visible_text(app)
        assert "100%" not in text and "no 429s" not in text
