"""A change to a gateway whose Envoy is dead is refused before any plan is printed (issue 13):
one line, nothing changed — the YAML, the history and what a restarted Envoy would serve stay as they
were. Real native gateway, Envoy killed with SIGKILL as a crash would."""

from __future__ import annotations

import os
import signal

import pytest

from connectors.native import NativeConnector
from connectors.native.process import pid_alive
from tests.waiting import wait_until
from tui.cli import main

COMMANDS = [
    pytest.param(["set-weights", "canary", "v1=50", "v2=50"], id="set-weights"),
    pytest.param(["set-weights", "canary", "v1=50", "v2=50", "--for", "1h"], id="set-weights-for"),
    pytest.param(["set-rate-limit", "canary", "--requests", "5"], id="set-rate-limit"),
    pytest.param(["deny", "canary", "--client", "x-user-id=crawler-7"], id="deny"),
    pytest.param(["undo"], id="undo"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_change_to_a_dead_gateway_is_one_line_and_no_plan(
    native_gateway: NativeConnector, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    gw = native_gateway
    assert main(["set-weights", "canary", "v1=80", "v2=20", "--gateway", str(gw.state_dir)]) == 0
    yaml_before = gw.config_path.read_text(encoding="utf-8")
    history_before = gw.history()
    pid = gw.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), what="Envoy to die")
    capsys.readouterr()

    rc = main([*command, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert out == "", "no plan, no diff before the refusal"
    assert err.startswith("error: Gateway is not running: ") and err.count("\n") == 1, err
    assert gw.config_path.read_text(encoding="utf-8") == yaml_before
    assert gw.history() == history_before


def test_a_dry_run_of_a_dead_gateway_still_shows_its_plan(
    native_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = native_gateway
    pid = gw.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), what="Envoy to die")
    capsys.readouterr()
    rc = main(["set-weights", "canary", "v1=50", "v2=50", "--dry-run", "--gateway", str(gw.state_dir)])
    out, _ = capsys.readouterr()
    assert rc == 0 and out.startswith("Plan: canary: weights") and "Dry run: nothing applied" in out
