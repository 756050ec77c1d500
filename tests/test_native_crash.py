"""Crash-safe changes on a real native gateway: commands killed with SIGKILL while they apply.

Each change is journalled before anything is touched; the next command finds the interrupted
intent, reads what Envoy serves and rolls the change forward or back, says which in one line, and
records it in the history and the audit log. Nothing is left behind, and the version counter is
past every version written.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.native.factory import NativeFactory
from connectors.registry import Target
from tests.crash_support import cli, inspect, kill_during, leftovers, served

OPS = (
    ["set-weights", "canary", "v1=30", "v2=70"],
    ["set-rate-limit", "limited", "--requests", "7", "--burst", "7"],
    ["set-cors", "cors", "--allow-origin", "https://app.example", "--allow-method", "GET"],
    ["undo"],
    ["set-weights", "canary", "v1=80", "v2=20"],
)


@pytest.fixture
def gateway(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield native_gateway


def _audit(gw: NativeConnector) -> Path:
    return Path(os.environ["GATEWAYCTL_STATE_DIR"]) / "audit.jsonl"


def _run(gw: NativeConnector, *args: str) -> subprocess.CompletedProcess[str]:
    proc = cli(list(args), gw.state_dir)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _reopen(gw: NativeConnector) -> NativeConnector:
    conn = NativeFactory().open(Target("native", gw.state_dir.name, str(gw.state_dir)))
    assert isinstance(conn, NativeConnector)
    return conn


def test_set_weights_killed_after_envoys_routes_file_is_replaced_leaves_no_silent_difference(
    gateway: NativeConnector,
) -> None:
    """The issue's crash window: killed 0-30 ms after the xDS file is replaced, ten times. After
    each, the next command shows what Envoy serves (or says it does not), the history and audit
    log hold every change Envoy serves, and no temp file or journal entry is left."""
    rng = random.Random(10)
    assert _run(gateway, "set-weights", "canary", "v1=50", "v2=50").returncode == 0  # something to undo
    audit = _audit(gateway)
    killed = 0
    for i in range(10):
        before = served(gateway.state_dir)
        kill = kill_during(OPS[i % len(OPS)], gateway.state_dir, rng.uniform(0, 0.03), aimed=True)
        killed += kill.killed
        found = inspect(gateway.state_dir, gateway.config_path, audit, before)
        assert not found.silent, (kill, found)
        assert not found.leftovers, (kill, found)
    assert killed >= 5  # most commands were killed inside the window, not after they finished


def test_a_change_whose_push_completed_is_rolled_forward_and_recorded(gateway: NativeConnector) -> None:
    """Killed after Envoy took the new routes but before the YAML, state.json, history and audit log:
    the next start saves the YAML, records the change and says it rolled it forward."""
    from connectors.change import Change

    route = gateway.get_route("canary")
    plan = Change(gateway).plan_edit("weights", route, set_weights(route, {"v1": 20, "v2": 80}))
    gateway.journal_intent(plan)
    gateway._deploy.push(None, plan.payload.gateway)  # Envoy serves it; then the process "dies"
    yaml_before = gateway.config_path.read_text()
    assert "weight: 90" in yaml_before

    conn = _reopen(gateway)
    try:
        (line,) = conn.notices()
        assert "rolled forward" in line and "canary" in line
        assert {b.name: b.weight for b in conn.get_route("canary").backends} == {"v1": 20, "v2": 80}
        assert not conn.drift()
        last = conn.history()[-1]
        assert last.routes == ("canary",) and last.after[0]["backends"][0]["weight"] == 20
        assert f'"change_id": "{last.id}"' in _audit(gateway).read_text()
        state = json.loads((gateway.state_dir / "state.json").read_text())
        assert str(state["xds_version"]) == conn.served_version()  # read from Envoy, not assumed
    finally:
        conn.close()
    assert not leftovers(gateway.state_dir, gateway.config_path)


def test_a_change_killed_before_envoy_served_all_of_it_is_rolled_back_and_recorded(
    gateway: NativeConnector,
) -> None:
    """Killed after the route's new limiter (its ECDS file, then the listener's slot naming it)
    was served but before the routes turned it on: Envoy serves half a change. The next start
    puts the last applied config back and says so."""
    from connectors.change import Change
    from connectors.model import RateLimit
    from connectors.model.edits import set_rate_limit
    from connectors.native import xds
    from connectors.native.render import file_text, listeners_body
    from connectors.native.render_limits import limiter_body

    route = gateway.get_route("canary")
    edited = set_rate_limit(route, RateLimit(requests=3, interval=60.0, burst=3))
    plan = Change(gateway).plan_edit("rate_limit", route, edited)
    gateway.journal_intent(plan)
    new = plan.payload.gateway
    body = listeners_body(new, gateway.layout, gateway.access_log_path, ("x-user-id",))
    canary = next(r for r in new.routes if r.name == "canary")
    version = gateway._deploy.next_version()
    limit = gateway.layout.limit("canary")  # written before the listener that names it
    xds.atomic_write(limit, file_text(version, limiter_body(canary)))  # no subscription yet
    version = gateway._deploy.next_version()
    gateway._deploy.pusher.push(gateway.layout.lds, file_text(version, body), xds.LDS, version)
    before_history = len(gateway.history())

    conn = _reopen(gateway)
    try:
        (line,) = conn.notices()
        assert "rolled back" in line and "canary" in line
        assert conn.get_route("canary").rate_limit is None
        assert served(gateway.state_dir)["canary"]["rate_limit"] is None
        assert not gateway.layout.limit("canary").exists()  # its limiter is gone with it
        assert not conn.drift()
        history = conn.history()
        assert len(history) == before_history + 1 and history[-1].action == "rollback"
        assert f'"change_id": "{history[-1].id}"' in _audit(gateway).read_text()
    finally:
        conn.close()
    assert not leftovers(gateway.state_dir, gateway.config_path)


def test_readonly_does_not_reconcile_but_says_a_change_was_interrupted(gateway: NativeConnector) -> None:
    from connectors.change import Change

    route = gateway.get_route("canary")
    plan = Change(gateway).plan_edit("weights", route, set_weights(route, {"v1": 40, "v2": 60}))
    gateway.journal_intent(plan)
    gateway._inflight.clear()
    intent = gateway.state_dir / "journal" / f"{plan.id}.json"
    data = json.loads(intent.read_text())
    intent.write_text(json.dumps({**data, "owner": "999999999:0"}))  # its process has died
    result = _run(gateway, "routes", "--readonly")
    assert "an interrupted change is not reconciled" in result.stderr
    result = _run(gateway, "routes")
    assert "rolled back" in result.stderr and result.returncode == 0
