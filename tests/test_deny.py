"""``deny`` and time boxes through a real Envoy: a denied client gets 403 on that route while others
get 200; ``--for 5s`` lifts the deny by itself with no console running (the supervisor ``up``
starts beside Envoy), recorded in the history; a revert is never forced over a later edit; bad input is one
line and changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.change import Change
from connectors.http_client import http_client
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, JwtSigner, require_envoy, write_native_config
from tests.waiting import wait_until
from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def status(base: str, host: str, user: str) -> int:
    with http_client(base_url=base, timeout=5) as c:
        return c.get("/", headers={"host": host, "x-user-id": user}).status_code


@pytest.fixture
def detached(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> Iterator[tuple[dict[str, str], str]]:
    """A gateway started with ``up`` (Envoy under its supervisor); stopped with ``down``."""
    require_envoy()
    env = {"GATEWAYCTL_STATE_DIR": str(tmp_path / "state"), "GATEWAYCTL_CONFIG_DIR": str(tmp_path / "cfg")}
    config = write_native_config(tmp_path / "config", backends, jwt_signer, name="deny-e2e")
    up = cli_process(env, "up", str(config), "--name", "deny-e2e")
    assert up.returncode == 0, up.stderr
    state_dir = tmp_path / "state" / "gateways" / "deny-e2e"
    try:
        yield env, state_dir.as_posix()
    finally:
        down = cli_process(env, "down", "deny-e2e")
        assert down.returncode == 0, down.stderr
        pid = int((state_dir / "reverter.pid").read_text()) if (state_dir / "reverter.pid").exists() else None
        assert pid is None or not Path(f"/proc/{pid}").exists()


def test_deny_for_5s_refuses_the_client_then_lifts_itself_without_a_console(
    detached: tuple[dict[str, str], str],
) -> None:
    env, state_dir = detached
    state = json.loads((Path(state_dir) / "state.json").read_text())
    base = "http://" + state["listeners"]["main"]
    supervisor = json.loads((Path(state_dir) / "supervisor.json").read_text())
    assert supervisor["reverts"] and Path(f"/proc/{supervisor['pid']}").exists()  # beside Envoy

    done = cli_process(
        env, "deny", "host-v1", "--client", "x-user-id=crawler-7", "--for", "5s", "--gateway", "deny-e2e"
    )
    started = time.monotonic()
    assert done.returncode == 0, done.stderr
    assert "Verification: verified" in done.stdout and "Time box: reverts by itself" in done.stdout
    assert status(base, "v1.test", "crawler-7") == 403
    assert status(base, "v1.test", "alice") == 200
    assert status(base, "v2.test", "crawler-7") == 200  # that route only

    wait_until(lambda: status(base, "v1.test", "crawler-7") == 200, 20, what="the deny to lift itself")
    assert time.monotonic() - started >= 4.5
    history = json.loads(cli_process(env, "history", "-o", "json", "--gateway", "deny-e2e").stdout)
    applied, revert = history[-2], history[-1]
    assert applied["description"].startswith("host-v1: deny nobody→x-user-id=crawler-7")
    assert revert["action"] == "undo" and revert["undoes"] == applied["id"] and revert["verified"]
    assert revert["description"].startswith("revert after 5s: ")
    config = yaml.safe_load(Path(state["config"]).read_text())
    assert "deny" not in next(r for r in config["routes"] if r["name"] == "host-v1")
    listed = cli_process(env, "revert-expired", "--list", "--gateway", "deny-e2e").stdout
    assert applied["id"] in listed and "reverted" in listed


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    before = shared_native_gateway.gateway()
    yield shared_native_gateway
    if shared_native_gateway.gateway() != before:
        Change(shared_native_gateway).apply(shared_native_gateway.plan_gateway(before))


def cli(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def _past_due(gw: NativeConnector) -> None:
    boxes = gw.change_hooks().reverts.boxes()
    wait_until(lambda: all(b.due <= time.time() for b in boxes), 5, what="the time box to end")


def test_a_revert_is_not_forced_over_a_later_edit_of_the_same_rules(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(gw, capsys, "deny", "canary", "--client", "x-user-id=a", "--for", "1s")
    assert rc == 0, err
    rc, _, err = cli(gw, capsys, "deny", "canary", "--client", "ip=203.0.113.0/24")
    assert rc == 0, err
    _past_due(gw)
    rc, out, _ = cli(gw, capsys, "revert-expired")
    assert rc == 1 and "NEEDS A DECISION" in out and "deny rules of route canary changed" in out
    deny = gw.gateway().route("canary").deny
    assert deny is not None and [str(c) for c in deny.clients] == ["x-user-id=a", "ip=203.0.113.0/24"]
    rc, out, _ = cli(gw, capsys, "revert-expired", "--list")
    assert "needs-decision" in out
    rc, out, _ = cli(gw, capsys, "revert-expired")
    # Decided once, not tried again; but it still needs a decision: said again, exit 1.
    assert rc == 1 and "NEEDS A DECISION" in out and "Nothing due." not in out
    assert [str(c) for c in deny.clients] == ["x-user-id=a", "ip=203.0.113.0/24"]
    (box,) = [b for b in gw.change_hooks().reverts.boxes() if b.status == "needs-decision"]
    rc, out, _ = cli(gw, capsys, "revert-expired", "--dismiss", box.id)  # the operator decides
    assert rc == 0 and out.startswith(f"Dismissed {box.id}")


def test_a_revert_keeps_someone_elses_edit_of_another_aspect(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(gw, capsys, "deny", "canary", "--client", "x-user-id=b", "--for", "1s")
    assert rc == 0, err
    rc, _, err = cli(gw, capsys, "set-weights", "canary", "v1=50", "v2=50")
    assert rc == 0, err
    _past_due(gw)
    rc, out, _ = cli(gw, capsys, "revert-expired")
    assert rc == 0 and "Reverted" in out
    route = gw.gateway().route("canary")
    assert route.deny is None and [b.weight for b in route.backends] == [50, 50]
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        assert c.get("/", headers={"host": "canary.test", "x-user-id": "b"}).status_code == 200


def test_match_predicts_the_deny_and_the_gateway_agrees(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    # Recent traffic from this host on the route, as any earlier test may have sent: the deny must
    # not depend on there being none (an address that sent every request needs --force).
    for _ in range(3):
        status(gw.listener_url(), "v2.test", "alice")
    wait_until(lambda: gw.access_log_path.read_text().count('"host-v2"') >= 3, what="the requests logged")
    rc, _, err = cli(
        gw, capsys, "deny", "host-v2", "--client", "x-user-id=crawler-7", "--client", "ip=203.0.113.0/24"
    )
    assert rc == 0, err
    rc, out, _ = cli(
        gw, capsys, "match", "--host", "v2.test", "-H", "x-user-id: crawler-7", "--send", "-o", "json"
    )
    data: dict[str, Any] = json.loads(out)
    assert rc == 0 and (data["answered_by"], data["status"]) == ("deny", 403) and data["sent"]["agrees"]
    rc, out, _ = cli(gw, capsys, "match", "--host", "v2.test", "--client-ip", "203.0.113.9", "-o", "json")
    assert json.loads(out)["answered_by"] == "deny"  # an address in the denied range
    rc, out, _ = cli(gw, capsys, "match", "--host", "v2.test", "--client-ip", "198.51.100.7", "-o", "json")
    assert json.loads(out)["answered_by"] == "upstream"  # another address, no header: not denied


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--client", "x-user-id=bob", "--lift", "x-user-id=bob"],
            "error: usage: --client and --lift cannot be combined",
        ),
        (
            ["--client", "x-user-id=bob", "--status", "451"],
            "error: usage: --status: 451 is not a status a deny can answer with; allowed: 403",
        ),
    ],
)
def test_contradictory_or_unsupported_deny_arguments_are_usage_errors(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    """Caught before anything is read or planned: exit 2, one line naming the flag."""
    before = gw.config_path.read_bytes()
    rc, out, err = cli(gw, capsys, "deny", "host-v1", *args)
    assert (rc, out) == (2, "") and err.startswith(says) and err.count("\n") == 1, err
    assert gw.config_path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "name the client to deny"),
        (["--client", "ip=300.1.2.3/8"], "is not an IP address or CIDR block"),
        (["--client", "ip=10.0.0.1/8"], "has host bits set"),
        (["--client", "x user=1"], "is not a valid header name"),
        (["--client", "crawler-7"], "expected HEADER=VALUE or ip=CIDR"),
        (["--client", "x-user-id=a", "--for", "0s"], "must end in the future"),
        (["--client", "x-user-id=a", "--for=-5s"], "--for: must be a positive duration, got -5s"),
        (["--client", "x-user-id=a", "--for", "8d"], "at most 7d"),
        (["--client", "x-user-id=a", "--status", "200"], "--status: 200"),
        (["--client", "x-user-id=a", "--status", "429"], "allowed: 403"),
    ],
)
def test_bad_deny_input_is_one_line_and_nothing_is_applied(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    before = gw.config_path.read_bytes()
    history = len(gw.history())
    rc, _out, err = cli(gw, capsys, "deny", "host-v1", *args)
    assert rc in (1, 2) and err.startswith("error: ") and err.count("\n") == 1, err
    assert says in err and "Traceback" not in err
    assert gw.config_path.read_bytes() == before and len(gw.history()) == history
    assert gw.change_hooks().reverts.boxes() == [] or all(
        b.routes != ["host-v1"] for b in gw.change_hooks().reverts.boxes()
    )
