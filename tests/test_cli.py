"""The headless commands against a real native gateway (Envoy in front of two demo backends).

A few checks run the command as a real subprocess (``python -m tui.cli``), the rest call ``main()``
in-process. Each test asserts what an operator or a client sees: the printed diff and exit code,
one-line errors, and how real requests through the gateway split before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connectors.http_client import http_client
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, JwtSigner, require_envoy, write_native_config
from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    """The module's gateway; every test leaves its routes as it found them."""
    before = yaml.safe_load(shared_native_gateway.config_path.read_text())
    yield shared_native_gateway
    assert yaml.safe_load(shared_native_gateway.config_path.read_text()) == before, "test left a change"


def cli(gw: NativeConnector, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def cli_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def split(gw: NativeConnector, host: str, n: int) -> Counter[str]:
    """Which backend answered each of ``n`` real requests through the gateway."""
    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        return Counter(
            client.get("/", headers={"host": host}).headers.get("x-backend", "?") for _ in range(n)
        )


def routes_json(gw: NativeConnector, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    rc, out, err = cli(gw, "routes", "-o", "json", capsys=capsys)
    assert rc == 0, err
    return {r["name"]: r for r in json.loads(out)}


def weights(route: dict[str, Any]) -> dict[str, int]:
    return {b["name"]: b["weight"] for b in route["backends"]}


def preflight(gw: NativeConnector, origin: str) -> str | None:
    headers = {"host": "cors.test", "origin": origin, "access-control-request-method": "GET"}
    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        allowed: str | None = client.options("/", headers=headers).headers.get("access-control-allow-origin")
        return allowed


# ---------------------------------------------------------------- reading


def test_routes_json_lists_every_route_of_the_config(gw: NativeConnector) -> None:
    result = cli_process("routes", "-o", "json", "--gateway", str(gw.state_dir))
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(gw.config_path.read_text())
    listed = json.loads(result.stdout)
    assert [r["name"] for r in listed] == [r["name"] for r in config["routes"]]
    canary = next(r for r in listed if r["name"] == "canary")
    assert weights(canary) == {b["name"]: b["weight"] for b in config["routes"][4]["backends"]}


def test_routes_table_has_one_row_per_route_with_weights_and_policies(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(gw, "routes", capsys=capsys)
    assert rc == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "HOSTS", "MATCH", "BACKENDS", "POLICIES"]
    by_name = {row.split()[0]: row for row in rows}
    assert set(by_name) == {r.name for r in gw.list_routes()}
    assert "v1=90 v2=10" in by_name["canary"]
    assert "ratelimit 5/1m" in by_name["limited"]
    assert "jwt" in by_name["secure"] and "cors" in by_name["cors"]


def test_describe_shows_the_route_and_its_envoy_objects(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(gw, "describe", "canary", capsys=capsys)
    assert rc == 0
    assert "Backends:  v1=90 v2=10" in out
    native = out.split("Native objects:", 1)[1]
    assert "canary~v1" in native and "canary~v2" in native  # the weighted clusters Envoy serves


# ---------------------------------------------------------------- changing


def test_set_weights_applies_and_real_traffic_splits_evenly(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    before = split(gw, "canary.test", 200)
    assert before["v2"] < 50, before  # 90/10 to begin with
    result = cli_process("set-weights", "canary", "v1=50", "v2=50", "--gateway", str(gw.state_dir))
    try:
        assert result.returncode == 0, result.stderr
        assert "-  weight: 90" in result.stdout and "+  weight: 50" in result.stdout
        assert "Verification: verified" in result.stdout
        after = split(gw, "canary.test", 400)
        assert 160 <= after["v2"] <= 240, after  # ~50% (±4 standard deviations)
        assert weights(routes_json(gw, capsys)["canary"]) == {"v1": 50, "v2": 50}
    finally:
        assert cli(gw, "set-weights", "canary", "v1=90", "v2=10", capsys=capsys)[0] == 0


BAD_INPUT = [
    pytest.param(["set-weights", "canary", "v1=50", "v2=45"], 1, "weights sum to 95", id="weights-sum-95"),
    pytest.param(["set-weights", "canary", "v3=10"], 1, "no backend 'v3'", id="unknown-backend"),
    pytest.param(["set-weights", "nope", "v1=100"], 1, "no route named 'nope'", id="unknown-route"),
    pytest.param(["set-weights", "canary", "v1=ninety"], 2, "whole number", id="weight-not-a-number"),
    pytest.param(["set-rate-limit", "limited", "--requests", "0"], 1, "positive", id="zero-requests"),
    pytest.param(
        ["set-cors", "cors", "--allow-origin", "https://app.example/path"],
        1,
        "scheme://host",
        id="malformed-origin",
    ),
    pytest.param(
        ["set-cors", "cors", "--allow-origin", "regex:https://(.*"],
        1,
        "missing ): https://(.*",
        id="bad-regex",
    ),
    # Python's re accepts a lookahead, Envoy's RE2 does not: refused with RE2's reason, before Envoy.
    pytest.param(
        ["set-cors", "cors", "--allow-origin", "regex:https://(?=a)[a-z]+\\.example"],
        1,
        "cors.allow_origins[0]: regular expression 'https://(?=a)[a-z]+\\\\.example' is not valid RE2",
        id="regex-envoy-refuses",
    ),
    pytest.param(["--readonly", "set-weights", "canary", "v1=50", "v2=50"], 1, "read-only", id="readonly"),
]


@pytest.mark.parametrize(("args", "code", "reason"), BAD_INPUT)
def test_bad_input_exits_non_zero_with_one_line_and_changes_nothing(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str], args: list[str], code: int, reason: str
) -> None:
    config = gw.config_path.read_bytes()
    envoy_files = {p: p.read_bytes() for p in gw.state_dir.rglob("*.json") if p.name != "state.json"}
    assert any(p.name.startswith("rds") for p in envoy_files)  # Envoy's xDS files
    cors_before = preflight(gw, "https://app.example")
    rc, out, err = cli(gw, *args, capsys=capsys)
    assert rc == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert reason in lines[0]
    assert "Traceback" not in out + err and "Applied" not in out
    assert gw.config_path.read_bytes() == config
    if "Envoy rejected" not in reason:  # refused before anything was written for Envoy
        assert {p: p.read_bytes() for p in envoy_files} == envoy_files
    # Clients see the old config: the canary still splits 90/10 and CORS still allows its origin.
    traffic = split(gw, "canary.test", 300)
    assert 9 <= traffic["v2"] <= 51 and traffic["v1"] + traffic["v2"] == 300, traffic
    assert preflight(gw, "https://app.example") == cors_before == "https://app.example"


def test_dry_run_prints_the_diff_and_applies_nothing(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    config = gw.config_path.read_bytes()
    rc, out, _ = cli(
        gw, "set-weights", "canary", "v1=0", "v2=100", "--dry-run", "--show-native", capsys=capsys
    )
    assert rc == 0
    assert "+  weight: 100" in out and "Dry run: nothing applied." in out
    assert "Native changes:" in out and "canary~v2" in out
    assert gw.config_path.read_bytes() == config
    assert split(gw, "canary.test", 100)["v1"] > 0


def test_history_shows_the_change_and_undo_restores_it(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(gw, "set-weights", "canary", "v1=0", "v2=100", capsys=capsys)
    assert rc == 0, err
    assert split(gw, "canary.test", 50) == Counter({"v2": 50})

    rc, out, _ = cli(gw, "history", "-o", "json", capsys=capsys)
    last = json.loads(out)[-1]
    assert last["routes"] == ["canary"] and last["action"] == "apply"
    assert weights(last["before"][0]) == {"v1": 90, "v2": 10}
    assert weights(last["after"][0]) == {"v1": 0, "v2": 100}
    rc, out, _ = cli(gw, "history", capsys=capsys)
    assert last["id"] in out and "canary: weights v1 90→0, v2 10→100" in out

    rc, out, err = cli(gw, "undo", capsys=capsys)
    assert rc == 0, err
    assert "Plan: undo canary" in out and "Verification: verified" in out
    assert weights(routes_json(gw, capsys)["canary"]) == {"v1": 90, "v2": 10}
    back = split(gw, "canary.test", 200)
    assert back["v1"] > back["v2"] > 0, back
    rc, out, _ = cli(gw, "history", "-o", "json", capsys=capsys)
    assert json.loads(out)[-1]["undoes"] == last["id"]


def test_set_rate_limit_limits_real_requests_and_remove_lifts_it(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    def codes(n: int) -> list[int]:
        with http_client(base_url=gw.listener_url(), timeout=5) as client:
            return [client.get("/", headers={"host": "v2.test"}).status_code for _ in range(n)]

    assert set(codes(8)) == {200}
    rc, out, err = cli(gw, "set-rate-limit", "host-v2", "--requests", "3", "--interval", "1m", capsys=capsys)
    try:
        assert rc == 0, err
        assert "+  requests: 3" in out and "+  interval: 1m" in out
        assert codes(6) == [200, 200, 200, 429, 429, 429]
    finally:
        rc, out, err = cli(gw, "set-rate-limit", "host-v2", "--remove", capsys=capsys)
    assert rc == 0, err
    assert set(codes(8)) == {200}


def test_set_cors_changes_which_origins_a_browser_may_use(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(
        gw,
        "set-cors",
        "cors",
        "--allow-origin",
        "https://new.example",
        "prefix:https://admin.",
        "--allow-method",
        "GET",
        capsys=capsys,
    )
    try:
        assert rc == 0, err
        assert preflight(gw, "https://new.example") == "https://new.example"
        assert preflight(gw, "https://admin.shop.example") == "https://admin.shop.example"
        assert preflight(gw, "https://app.example") is None
    finally:
        rc, _, err = cli(gw, "undo", capsys=capsys)
    assert rc == 0, err
    assert preflight(gw, "https://app.example") == "https://app.example"
    assert preflight(gw, "https://new.example") is None


# ---------------------------------------------------------------- native gateway lifecycle


def test_up_gateways_down_run_a_detached_gateway(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    require_envoy()
    env = {"GATEWAYCTL_STATE_DIR": str(tmp_path / "state")}
    config = write_native_config(tmp_path / "cfg", backends, jwt_signer, name="cli-up")
    listed = cli_process("gateways", env=env)
    assert listed.returncode == 0 and "No native gateways" in listed.stdout
    nothing = cli_process("routes", env=env)
    assert nothing.returncode == 1 and nothing.stderr.startswith("error: Not found: no native gateway")

    up = cli_process("up", str(config), "--name", "edge", env=env)
    state = tmp_path / "state" / "gateways" / "edge" / "state.json"
    try:
        assert up.returncode == 0, up.stderr
        assert "admin" in up.stdout and "listener  main http://127.0.0.1:" in up.stdout
        listener = up.stdout.split("listener  main ", 1)[1].split()[0]
        with http_client(base_url=listener, timeout=5) as client:
            assert client.get("/", headers={"host": "v2.test"}).headers["x-backend"] == "v2"
        running = json.loads(cli_process("gateways", "-o", "json", env=env).stdout)
        assert [(g["name"], g["status"]) for g in running] == [("edge", "running")]
        routes = cli_process("routes", "-o", "json", env=env)  # the only gateway: no --gateway needed
        assert routes.returncode == 0 and "canary" in routes.stdout

        down = cli_process("down", "edge", env=env)
        assert down.returncode == 0, down.stderr
        assert "stopped" in down.stdout
        with pytest.raises(httpx.ConnectError), http_client(timeout=2) as client:
            client.get(listener)
        stopped = json.loads(cli_process("gateways", "-o", "json", env=env).stdout)
        assert stopped[0]["status"].startswith("stopped")
    finally:
        # Never leave a detached supervisor or Envoy behind (the supervisor first: it restarts Envoy).
        for path in (state.with_name("supervisor.json"), state):
            pid = json.loads(path.read_text()).get("pid") if path.exists() else None
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_unknown_gateway_and_usage_errors_exit_with_their_codes(tmp_path: Path) -> None:
    env = {"GATEWAYCTL_STATE_DIR": str(tmp_path / "state")}
    missing = cli_process("routes", "--gateway", "nowhere", env=env)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"error: Not found: no gateway named 'nowhere' (native gateways live in {tmp_path}/state/gateways)"
    )
    usage = cli_process("set-rate-limit", "limited", env=env)
    assert usage.returncode == 2
    assert usage.stderr.startswith("error: usage: give --requests N, --shadow, --enforce")
    assert len(usage.stderr.strip().splitlines()) == 1
