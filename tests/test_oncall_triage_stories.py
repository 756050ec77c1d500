"""The on-call operator's triage story, at 160x45 and at 100x30, against the real demo (its Envoy,
its backends, its traffic: a few users, and every 15 s a burst from crawler-7 larger than the
limited route's bucket): from the routes view, ``t`` ranks the limited route first and, grouped by
the logged user header, names crawler-7 before the demo's second burst; ``⏎`` opens the rate-limit
editor on that route with its requests field focused, and typing replaces the limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from connectors.demo.context import DemoContext
from connectors.demo.prometheus import PrometheusProcess
from connectors.demo.runner import DemoOptions, DemoRunner
from connectors.metrics import PrometheusConfig, metrics_for
from connectors.native import NativeConnector
from connectors.triage import TriageReport, report
from tests.native_support import client, require_envoy
from tests.prometheus_support import admin_target
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.triage import TriageScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoContext]:
    """The demo as ``./dev demo`` starts it (traffic 4 req/s, a burst every 15 s), on free ports,
    figures from Envoy's admin stats (no Prometheus on PATH)."""
    require_envoy()
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    options = DemoOptions(
        state_dir=tmp_path / "demo", listener_port=0, stats_port=0, backend_ports=(("v1", 0), ("v2", 0))
    )
    runner = DemoRunner(options)
    try:
        yield runner.start()
    finally:
        assert runner.stop() == []


@pytest.mark.parametrize("size", SIZES)
async def test_triage_ranks_the_limited_route_first_and_names_the_crawler_within_one_burst(
    demo: DemoContext, size: tuple[int, int]
) -> None:
    traffic = demo.traffic
    assert demo.connector is not None and traffic is not None
    app = ConsoleApp(demo.connector)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        await wait_until_ui(pilot, lambda: app.metrics_source is not None)
        await pilot.press("t")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
        screen = app.screen
        assert isinstance(screen, TriageScreen)
        if traffic.stats.bursts == 0:
            # Before the first burst nothing was refused: the panel says so instead of being blank.
            await wait_until_ui(pilot, lambda: screen.view is not None)
            empty = str(screen.query_one("#clients-empty", Static).render())
            assert traffic.stats.bursts > 0 or "no 429s in the last 5m" in empty, empty
        await wait_until_ui(
            pilot,
            lambda: screen.view is not None and "x-user-id" in screen.view.client_keys,
            what="the logged header to group by",
        )
        await pilot.press("g")
        assert screen.by == "x-user-id"

        def crawler_named() -> bool:
            view = screen.view
            return (
                view is not None
                and view.by == "x-user-id"
                and bool(view.rows)
                and view.rows[0].route == "api-limited"
                and view.rows[0].limited > 0
                and bool(view.clients)
                and view.clients[0][0] == "crawler-7"
            )

        await wait_until_ui(pilot, crawler_named, seconds=25, what="api-limited first, crawler-7 named")
        assert traffic.stats.bursts <= 1, "named only after the demo's second burst"
        top = screen.view.rows[0]  # type: ignore[union-attr]
        assert top.limiting and top.since is not None
        table = screen.query_one("#triage", DataTable)
        assert table.get_row_at(0)[0].plain == "api-limited" and table.cursor_row == 0
        # The clients' table is filled; the screen shows it once the table is laid out (a frame later).
        await wait_until_ui(pilot, lambda: "crawler-7" in visible_text(app), what="crawler-7 on screen")
        shown = visible_text(app)
        assert "crawler-7" in shown and "429s (5m)" in shown and "limiting since" in shown, shown

        # ⏎ on the route opens its rate-limit editor, the requests field focused.
        await pilot.press("enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor))
        editor = app.screen
        assert isinstance(editor, RateLimitEditor) and editor.original.name == "api-limited"
        await pilot.pause()
        focused = editor.focused
        assert isinstance(focused, Input) and focused.id == "requests"
        await pilot.press("4", "0")
        assert focused.value == "40", "typing replaces the limit"


def test_triage_with_a_prometheus_that_began_scraping_after_the_window_began(
    shared_native_gateway: NativeConnector, prometheus: PrometheusProcess
) -> None:
    """The demo's Prometheus starts with the demo: for the first five minutes (an hour, for since
    when a route limits) it holds no counters from the window's start. Triage then counts from the
    access log, which Envoy wrote all along, instead of failing ("Metrics unavailable" every second)."""
    gw = shared_native_gateway
    target = admin_target(gw.stats_url)
    prometheus.set_targets([target])
    config = PrometheusConfig(prometheus.url, rate_window="4s", selector=f'instance="{target}"')
    source = metrics_for(gw, prometheus=config)
    assert source is not None
    try:
        wait_until(lambda: source.snapshot().ok, timeout=20, what="Prometheus to scrape the gateway")
        with client(gw) as c:
            refused = sum(c.get("/", headers={"host": "limited.test"}).status_code == 429 for _ in range(12))
        assert refused > 0

        def counted() -> TriageReport | None:
            found = report(gw, source, window_s=300)
            # One report reads the access log twice (the hour behind the stretch, then the window)
            # and Envoy flushes it every second: the first read can miss a burst the second counts.
            top = found.rows[0] if found.rows else None
            return found if top is not None and top.limited >= refused and top.limiting else None

        ranked = wait_until(counted, what="the 429s counted from the access log, the route limiting")
        assert ranked.rows[0].route == "limited" and ranked.rows[0].limiting
        assert source.status() == "ok"
    finally:
        source.close()
