"""``health``: backends made to fail by real HTTP servers (5xx, slow) show the ejections, failures and
circuit-breaker overflows Envoy counts, worst first; a good backend nothing checks is "not checked",
and last."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from connectors.http_client import http_client
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.incident_support import FailingServer
from tests.native_support import start_native_gateway
from tests.waiting import wait_until
from tui.cli import main

CONFIG = """\
name: health-gw
listeners: [{{name: main, address: 127.0.0.1, port: {port}}}]
backends:
  - {{name: bad, endpoints: ["{a}", "{b}"]}}
  - {{name: sleepy, endpoints: ["{slow}"]}}
  - {{name: grumpy, endpoints: ["{grumpy}"]}}
  - {{name: ok, endpoints: ["{ok}"]}}
routes:
  - name: flaky
    hosts: [flaky.test]
    backends: [bad]
    circuit_breaker:
      outlier_detection: {{consecutive_5xx: 3, base_ejection_time: 5m, max_ejection_percent: 100}}
  - name: slow
    hosts: [slow.test]
    backends: [sleepy]
    circuit_breaker: {{max_connections: 1, max_pending_requests: 1, max_requests: 1}}
  - name: retry
    hosts: [retry.test]
    backends: [grumpy]
    retries: {{attempts: 3, retry_on: [5xx]}}
    circuit_breaker: {{max_retries: 1}}
  - name: fine
    hosts: [fine.test]
    backends: [ok]
"""


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FailingServer]]:
    made = {
        "a": FailingServer(503),
        "b": FailingServer(503),
        "slow": FailingServer(200, delay=1.0),
        "grumpy": FailingServer(503, delay=0.3),
        "ok": FailingServer(200),
    }
    yield made
    for s in made.values():
        s.stop()


@pytest.fixture(scope="module")
def gw(
    tmp_path_factory: pytest.TempPathFactory, servers: dict[str, FailingServer]
) -> Iterator[NativeConnector]:
    root = tmp_path_factory.mktemp("health")
    config = root / "health.yaml"
    addresses = {k: s.address for k, s in servers.items()}
    config.write_text(CONFIG.format(port=free_port(), **addresses), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
        gateway = start_native_gateway(config, Path(root / "state"))
        yield gateway
        gateway.close()
        gateway.stop()


def _get(gw: NativeConnector, host: str) -> int:
    with http_client(base_url=gw.listener_url(), timeout=10) as c:
        return c.get("/", headers={"host": host}).status_code


def _burst(gw: NativeConnector, host: str, n: int) -> list[int]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: _get(gw, host), range(n)))


def _health(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["health", *args, "-o", "json", "--gateway", str(gw.state_dir)]) == 0
    data: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return data


def test_failing_backends_show_envoys_ejections_and_overflows(
    gw: NativeConnector, servers: dict[str, FailingServer], capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(12):
        _get(gw, "flaky.test")
    assert _get(gw, "fine.test") == 200
    slow = _burst(gw, "slow.test", 8)
    assert 503 in slow and 200 in slow  # some refused by the circuit breaker, some served
    _burst(gw, "retry.test", 6)
    wait_until(lambda: not _get_active(gw), 10, what="the slow requests to finish")

    rows = _health(gw, capsys)
    by = {r["route"]: r for r in rows}
    stats = gw.admin.stats(
        r"^cluster\.[^.]+\.(upstream_.*overflow|upstream_rq_5xx|outlier_detection\.ejections_.*)$"
    )

    def stat(cluster: str, name: str) -> int:
        return int(stats.get(f"cluster.{cluster}.{name}", 0))

    for row in rows:
        c = row["cluster"]
        for key, value in row["overflows"].items():
            assert value == stat(c, key), (c, key)
        assert row["ejections_active"] == stat(c, "outlier_detection.ejections_active")
        assert row["ejections_total"] == stat(c, "outlier_detection.ejections_enforced_total")

    flaky = by["flaky"]
    assert flaky["state"] == "ejected" and flaky["ejections_active"] == 2 == flaky["ejections_total"]
    assert all("failed_outlier_check" in e["flags"] for e in flaky["endpoints"])
    refused = by["slow"]["overflows"]
    # max_requests 1 and max_pending_requests 1: every 503 is one of the two request overflows
    assert refused["upstream_rq_pending_overflow"] + refused["upstream_rq_active_overflow"] == slow.count(503)
    # Which of the two request overflows a burst meets depends on timing (a busy machine queues fewer
    # requests); that the breaker refused some, and the counts agree with Envoy's, does not.
    overflowed = refused["upstream_rq_pending_overflow"] + refused["upstream_rq_active_overflow"]
    assert refused["upstream_cx_overflow"] > 0 and overflowed > 0
    assert by["slow"]["thresholds"]["max_connections"] == 1
    assert by["retry"]["overflows"]["upstream_rq_retry_overflow"] > 0
    # Nothing checks fine's endpoint (no health check, no outlier detection): never "healthy".
    assert by["fine"]["state"] == "unchecked" and rows[-1]["route"] == "fine"
    assert by["flaky"]["checks"] == ["outlier detection"] and not by["fine"]["checks"]
    for row in rows:  # the failures are Envoy's 5xx counter of the cluster, the requests its completed
        assert row["failures"] == stat(row["cluster"], "upstream_rq_5xx"), row["cluster"]
    assert by["retry"]["state"] == "failing" and by["retry"]["failure_pct"] == 100.0
    assert rows[0]["route"] == "flaky"  # worst first: every endpoint ejected


def _get_active(gw: NativeConnector) -> int:
    stats = gw.admin.stats(r"^cluster\.slow~sleepy\.upstream_rq_active$")
    return int(next(iter(stats.values()), 0) or 0)


def test_health_of_one_route_and_the_table(gw: NativeConnector, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(12):  # ejects both hosts of flaky (if an earlier test has not already)
        _get(gw, "flaky.test")
    rows = _health(gw, capsys, "fine")
    assert [r["route"] for r in rows] == ["fine"]
    capsys.readouterr()
    assert main(["health", "--gateway", str(gw.state_dir)]) == 0
    text = capsys.readouterr().out
    assert "EJECTED NOW/SINCE START" in text and "flaky" in text
    assert "failed_outlier_check" in text
    capsys.readouterr()
    assert main(["health", "nope", "--gateway", str(gw.state_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Not found: no route named 'nope'") and err.count("\n") == 1
