"""``health`` and ``:health`` never call a backend healthy that nothing checks, and flag the one whose
requests fail: a gateway with a dead backend (127.0.0.1:1, nothing listens) beside a live one, no
health check or outlier detection, real requests through a real Envoy (issue 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from connectors.http_client import http_client
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.incident_support import FailingServer
from tests.native_support import start_native_gateway
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.health import HealthScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
NOT_CHECKED = "not checked (no health check / outlier detection)"
CONFIG = """\
name: split-gw
listeners: [{{name: main, address: 127.0.0.1, port: {port}}}]
backends:
  - {{name: live, endpoints: ["{live}"]}}
  - {{name: dead, endpoints: ["127.0.0.1:1"]}}
routes:
  - name: app
    hosts: [app.test]
    backends: [{{name: live, weight: 50}}, {{name: dead, weight: 50}}]
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeConnector]:
    live = FailingServer(200)
    root = tmp_path_factory.mktemp("health-truth")
    config = root / "gw.yaml"
    config.write_text(CONFIG.format(port=free_port(), live=live.address), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
        mp.setenv("GATEWAYCTL_CONFIG_DIR", str(root / "config"))
        gateway = start_native_gateway(config, Path(root / "state"))
        codes = _send(gateway, 20)
        assert 503 in codes and 200 in codes  # some reached the dead backend, some the live one
        yield gateway
        gateway.close()
        gateway.stop()
    live.stop()


def _send(gw: NativeConnector, n: int) -> list[int]:
    with http_client(base_url=gw.listener_url(), timeout=10) as c:
        return [c.get("/", headers={"host": "app.test"}).status_code for _ in range(n)]


def _stat(gw: NativeConnector, backend: str, name: str) -> int:
    stats = gw.admin.stats(rf"^cluster\.app~{backend}\.{name}$")
    return int(next(iter(stats.values()), 0) or 0)


def _health(gw: NativeConnector, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert main(["health", "-o", "json", "--gateway", str(gw.state_dir)]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert [r["backend"] for r in rows] == ["dead", "live"], "the failing backend ranks first"
    return {r["backend"]: r for r in rows}


def test_unchecked_backends_are_never_called_healthy_and_failing_ones_are_flagged(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    by = _health(gw, capsys)
    dead, live = by["dead"], by["live"]
    assert dead["state"] == "failing" and dead["in_trouble"] and dead["failing"]
    assert dead["failures"] == _stat(gw, "dead", "upstream_rq_5xx") > 0
    assert dead["requests"] == _stat(gw, "dead", "upstream_rq_completed") == dead["failures"]
    assert dead["failure_pct"] == 100.0 and dead["window"] == "since start"
    assert live["state"] == "unchecked" and live["state_text"] == NOT_CHECKED and not live["in_trouble"]
    assert live["failures"] == 0 and live["requests"] == _stat(gw, "live", "upstream_rq_completed") > 0
    assert not dead["checks"] and not live["checks"]
    for row in by.values():  # errors and total from the same counters: never "N errors of 0"
        for e in row["endpoints"]:
            assert e["state"] != "healthy" and e["errors"] <= e["total"]
    (endpoint,) = dead["endpoints"]
    assert endpoint["errors"] == endpoint["total"] == endpoint["connect_failures"] == dead["failures"]

    capsys.readouterr()
    assert main(["health", "--gateway", str(gw.state_dir)]) == 0
    text = capsys.readouterr().out
    lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("app ")}
    assert "FAILING" in lines["dead"] and "healthy" not in lines["dead"]
    assert lines["dead"].split()[3] == "0/1", "a dead endpoint is not OK"
    assert "not checked" in lines["live"] and "healthy" not in lines["live"]
    assert f"app/live: {NOT_CHECKED}" in text
    assert (
        f"app/dead: failing: {dead['failures']} of {dead['requests']} requests failed (100%, since start)"
        in text
    )


@pytest.mark.parametrize("size", SIZES)
async def test_health_view_flags_the_dead_backend_and_checks_nothing_it_cannot(
    gw: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        app.run_console_command("health")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HealthScreen))
        screen = app.screen
        assert isinstance(screen, HealthScreen)
        await wait_until_ui(pilot, lambda: screen.view is not None and len(screen.view.rows) == 2)
        table = screen.query_one("#health", DataTable)
        assert [str(table.get_row_at(i)[1]) for i in range(2)] == ["dead", "live"]
        assert [str(table.get_row_at(i)[2]) for i in range(2)] == ["FAILING", "not checked"]
        text = visible_text(app)
        assert "2 backends, 1 in trouble" in text
        assert "127.0.0.1:1" in text and "of 0" not in text
        assert "requests failed since start" in text and "connect failures" in text
        assert "healthy" not in text.replace("unhealthy", "")
        # New requests: the view counts them over its window, from its own earlier reading.
        _send(gw, 20)
        await wait_until_ui(
            pilot, lambda: "requests failed (100%, last " in visible_text(app), what="the windowed count"
        )
        await pilot.press("down")
        await wait_until_ui(pilot, lambda: NOT_CHECKED in visible_text(app), what="the live backend's note")
