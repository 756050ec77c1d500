"""Who carries out a native gateway's time boxes, and saying so when nobody does.

A gateway started with ``up`` has one process beside Envoy: its supervisor, which also reverts the
time boxes whose time is up (no separate reverter to die unseen). A gateway without one (the demo's
reverter killed with SIGKILL, or a gateway started by a library caller) says so in ``gateways``,
after ``--for`` and in ``revert-expired --list``. The demo's detached reverter logs why it stops.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.native import NativeConnector
from connectors.native.reverter import LOG_FILE, NO_REVERTER, PID_FILE, start_detached, stop_detached
from tests.crash_support import served
from tests.native_support import DemoBackends, JwtSigner, require_envoy, write_native_config
from tests.test_native_supervisor import Up, _alive
from tests.waiting import wait_until
from tui.cli import main


def _canary(state_dir: Path) -> dict[str, int]:
    weights: dict[str, int] = served(state_dir)["canary"]["weights"]
    return {k.split("~")[1]: v for k, v in weights.items()}


@pytest.fixture
def up(tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner) -> Iterator[Up]:
    require_envoy()
    config = write_native_config(tmp_path / "cfg", backends, jwt_signer, name="reverts")
    gateway = Up(tmp_path, config, "rv")
    started = gateway.cli("up", str(config), "--name", "rv")
    try:
        assert started.returncode == 0, started.stderr
        yield gateway
    finally:
        gateway.kill_all()


def test_the_supervisor_reverts_a_time_box_with_no_other_process_beside_envoy(up: Up) -> None:
    assert not (up.state_dir / PID_FILE).exists()  # one process beside Envoy, not two
    assert up.supervision()["reverts"] is True
    assert up.listed()["status"] == "running" and up.listed()["warning"] == ""
    done = up.cli("set-weights", "canary", "v1=50", "v2=50", "--for", "2s", "--gateway", "rv")
    assert done.returncode == 0, done.stderr
    assert "Time box: reverts by itself" in done.stdout and "no reverter" not in done.stderr
    assert _canary(up.state_dir) == {"v1": 50, "v2": 50}
    wait_until(lambda: _canary(up.state_dir) == {"v1": 90, "v2": 10}, 20, what="the supervisor to revert")
    history = json.loads(up.cli("history", "-o", "json", "--gateway", "rv").stdout)
    assert history[-1]["action"] == "undo" and history[-1]["description"].startswith("revert after 2s: ")
    assert "reverted: revert" not in up.cli("revert-expired", "--list", "--gateway", "rv").stderr
    assert "reverted" in (up.state_dir / "supervisor.log").read_text()


@pytest.fixture
def gw(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield native_gateway
    stop_detached(native_gateway.state_dir)


def run(gw: NativeConnector, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_dead_reverter_is_said_wherever_a_revert_is_promised(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = start_detached(gw.state_dir)  # as the demo does
    rc, out, _ = run(gw, "gateways", "-o", "json", capsys=capsys)
    wait_until(lambda: "carries out" in (gw.state_dir / LOG_FILE).read_text(), what="the reverter to start")
    (found,) = json.loads(out)
    assert found["status"] == "running" and found["warning"] == ""

    os.kill(pid, signal.SIGKILL)  # kill -9 $(pgrep -f reverter)
    wait_until(lambda: not _alive(pid), what="the reverter to die")
    rc, out, _ = run(gw, "gateways", "-o", "json", capsys=capsys)
    (found,) = json.loads(out)
    # Nothing waits to be reverted yet: a missing reverter is nothing to warn about.
    assert found["state"] == "running" and found["warning"] == "" and found["status"] == "running"

    rc, out, err = run(gw, "set-weights", "canary", "v1=50", "v2=50", "--for", "1s", capsys=capsys)
    assert rc == 0, err
    assert "Time box: reverts by itself" in out
    assert f"warning: {NO_REVERTER} (nothing will revert it at " in err
    rc, out, _ = run(gw, "gateways", "-o", "json", capsys=capsys)
    (found,) = json.loads(out)
    assert found["state"] == "running" and found["warning"] == NO_REVERTER
    assert found["status"] == f"running ({NO_REVERTER})"

    def listed() -> str | None:
        _, out, err = run(gw, "revert-expired", "--list", capsys=capsys)
        return out + err if "(overdue by " in out else None

    shown = wait_until(listed, what="the time box to be due")
    assert "pending" in shown and NO_REVERTER in shown.split("(overdue by ")[1]
    assert _canary(gw.state_dir) == {"v1": 50, "v2": 50}  # nothing reverted it
    rc, out, _ = run(gw, "revert-expired", capsys=capsys)
    assert rc == 0 and out.startswith("Reverted ")
    assert _canary(gw.state_dir) == {"v1": 90, "v2": 10}


def test_the_demos_reverter_logs_why_it_stops(gw: NativeConnector) -> None:
    log = gw.state_dir / LOG_FILE
    start_detached(gw.state_dir)
    wait_until(lambda: "carries out" in log.read_text(), what="the reverter to start")
    stop_detached(gw.state_dir)
    assert "stopping: SIGTERM" in log.read_text()

    first = start_detached(gw.state_dir)
    wait_until(lambda: log.read_text().count("carries out") == 2, what="the second reverter to start")
    (gw.state_dir / PID_FILE).write_text("4242\n")  # another reverter took over
    wait_until(lambda: not _alive(first), what="the reverter to step aside")
    assert "stopping: another reverter (pid 4242) took over" in log.read_text()
