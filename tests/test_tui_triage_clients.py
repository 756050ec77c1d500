"""Issue 13 item 1, in the console with ``--prometheus`` (a real Prometheus scraping a real Envoy),
at 160x45 and 100x30: triage shows a shadowed limit beside the enforced ones — "would refuse N % of
requests, k clients" — with its would-be refused clients, and says where a client list comes from
("from the access log, last 5m"). When the access log cannot be read (moved away, as logrotate
does), the panel says the clients are unknown instead of claiming there were none. ``e`` enforces
the shadowed limit through the usual diff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import DataTable, Input, Static

from connectors.change import Change
from connectors.demo.prometheus import PrometheusProcess
from connectors.http_client import http_client
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.prometheus_support import admin_target
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.deny_client import DenyScreen
from tui.screens.diff import DiffScreen
from tui.screens.triage import TriageScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
ROUTE, HOST = "limited", "limited.test"


@pytest.fixture
def shadowed(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    """``limited`` shadowed at 3 a minute (a fresh bucket), 12 requests from x-user-id=shadowy: 9
    would be refused."""
    gw = shared_native_gateway
    before = gw.gateway()
    route = gw.get_route(ROUTE)
    Change(gw).apply(gw.plan([set_rate_limit(route, RateLimit(3, 60.0, shadow=True))]))
    logged = gw.access_log_path.read_text().count("shadowy")
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        codes = [c.get("/", headers={"host": HOST, "x-user-id": "shadowy"}).status_code for _ in range(12)]
    assert codes == [200] * 12, "a shadowed limit refuses nothing"
    wait_until(
        lambda: gw.access_log_path.read_text().count("shadowy") >= logged + 12, what="the requests logged"
    )
    yield gw
    Change(gw).apply(gw.plan_gateway(before))


def envoy_counter(gw: NativeConnector, name: str) -> int:
    stats = gw.admin.stats(rf"^gw_shadow_{ROUTE}\.http_local_rate_limit\.{name}$")
    return int(next(iter(stats.values()), 0) or 0)


def shown(screen: TriageScreen, selector: str) -> str:
    widget = screen.query_one(selector, Static)
    return " ".join(str(widget.render()).split()) if widget.display else ""


@pytest.mark.parametrize("size", SIZES)
async def test_triage_shows_a_shadowed_limits_would_be_clients_and_where_they_come_from(
    shadowed: NativeConnector, prometheus: PrometheusProcess, size: tuple[int, int]
) -> None:
    gw = shadowed
    prometheus.set_targets([admin_target(gw.stats_url)])
    app = ConsoleApp(gw, prometheus=prometheus.url)
    log = gw.access_log_path
    moved = log.with_name(log.name + ".1")
    try:
        async with app.run_test(size=size) as pilot:
            await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
            await wait_until_ui(pilot, lambda: app.metrics_source is not None)
            assert app.metrics_source is not None and app.metrics_source.name == "prometheus"
            app.run_console_command("triage")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
            screen = app.screen
            assert isinstance(screen, TriageScreen)
            await wait_until_ui(pilot, lambda: screen.view is not None, what="the first figures")
            clients = screen.query_one("#clients", DataTable)
            await wait_until_ui(
                pilot,
                lambda: screen.route == ROUTE and clients.row_count > 0,
                seconds=20,
                what="the would-be refused client listed",
            )
            # Envoy's own counters (since the limit was shadowed or Envoy started) and the log's.
            seen, would = envoy_counter(gw, "enabled"), envoy_counter(gw, "rate_limited")
            assert would == seen * 3 // 4, "3 of each 12 pass a bucket of 3 a minute"
            assert str(clients.get_row_at(0)[0]) == "x-user-id=shadowy"
            assert str(clients.get_row_at(0)[1]).strip() == str(would)
            assert "Would-be refused clients of limited" in shown(screen, "#clients-title")
            heads = [str(c.label) for c in clients.columns.values()]
            assert heads == ["Client", "would refuse"], "a shadowed limit refused nobody: no 429s"
            line = f"would refuse 75% of requests ({would} of {seen}), 1 client"
            assert line in shown(screen, "#triage-shadow")
            assert shown(screen, "#clients-origin") == "from the access log, last 5m"
            await pilot.press("b")  # the would-be refused client, as the panel names it
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
            assert app.screen.query_one("#deny-client", Input).value == "x-user-id=shadowy"
            await pilot.press("escape")  # untouched: closes without asking
            await wait_until_ui(pilot, lambda: app.screen is screen)

            log.rename(moved)  # as logrotate does: Envoy writes on into the moved file
            await wait_until_ui(
                pilot,
                lambda: "unknown" in shown(screen, "#clients-origin"),
                what="the panel to say the clients are unknown",
            )
            origin = shown(screen, "#clients-origin")
            assert str(log) in origin and "not there" in origin, origin
            assert "1 client" not in shown(screen, "#triage-shadow")
            assert "no 429s" not in shown(screen, "#clients-empty")
            assert "no 429s" not in str(screen.query_one("#triage-info", Static).render())
            moved.rename(log)

            # One key turns the shadowed limit into an enforced one, through the usual diff.
            assert "e enforces it" in shown(screen, "#triage-shadow")
            await pilot.press("e")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
            diff = app.screen
            assert isinstance(diff, DiffScreen)
            await pilot.press("a")
            await wait_until_ui(pilot, lambda: diff.state == "done", seconds=30, what="enforced")
            assert diff.result is not None and diff.result.verification.ok
        assert gw.get_route(ROUTE).rate_limit == RateLimit(3, 60.0)
        with http_client(base_url=gw.listener_url(), timeout=5) as c:
            codes = [c.get("/", headers={"host": HOST}).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429], "enforced: a fresh bucket of 3"
    finally:
        if moved.exists():
            moved.rename(log)


@pytest.mark.parametrize("size", SIZES)
async def test_triage_says_the_shadow_clients_are_incomplete_while_the_log_is_behind_the_counters(
    native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    """When the access log names fewer would-be refusals than Envoy counted — about a second after
    every burst, or for good after a copytruncate rotation — triage says the client list is still
    catching up; never "0 clients" or "no would-be refusals" while Envoy counted some."""
    gw = native_gateway
    Change(gw).apply(gw.plan([set_rate_limit(gw.get_route(ROUTE), RateLimit(2, 60.0, shadow=True))]))
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        codes = [c.get("/", headers={"host": HOST, "x-user-id": "burst"}).status_code for _ in range(12)]
    assert codes == [200] * 12
    wait_until(lambda: gw.access_log_path.read_text().count('"burst"') >= 12, what="the burst logged")
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        app.run_console_command("triage")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
        screen = app.screen
        assert isinstance(screen, TriageScreen)
        await wait_until_ui(pilot, lambda: screen.view is not None, what="the first figures")
        clients = screen.query_one("#clients", DataTable)
        await wait_until_ui(pilot, lambda: screen.route == ROUTE and clients.row_count > 0, seconds=20)
        line = shown(screen, "#triage-shadow")
        assert "would refuse 83% of requests (10 of 12), 1 client" in line, line

        with gw.access_log_path.open("r+") as log:  # rotated with copytruncate: the lines are gone
            log.truncate(0)
        behind = "would refuse 83% of requests (10 of 12), clients: 0 so far, the access log is behind"
        await wait_until_ui(pilot, lambda: behind in shown(screen, "#triage-shadow"), seconds=20)
        note = shown(screen, "#clients-empty")
        assert "no would-be refusals" not in note and "the access log is behind" in note, note
        assert clients.row_count == 0 or not clients.display
