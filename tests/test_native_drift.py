"""Drift on a real native gateway: hand edits of the YAML or of Envoy's files are shown, never
deployed unseen.

``gatewayctl-tui drift`` compares the last applied config, the YAML, the xDS files and what Envoy
serves (exit 0 none, 1 drift, 2 error); ``routes`` and ``describe`` warn; a plan carries the drifted
routes in its diff, validates them like any edit, and applies them only with ``--adopt``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from connectors.native import NativeConnector, xds
from connectors.native.render import body_of, file_text
from tests.crash_support import served
from tests.native_support import client
from tests.waiting import wait_until
from tui.cli import main


@pytest.fixture
def gw(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield native_gateway


def run(gw: NativeConnector, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def hand_edit(gw: NativeConnector, old: str, new: str) -> None:
    text = gw.config_path.read_text()
    assert old in text
    gw.config_path.write_text(text.replace(old, new))


def canary_weights(gw: NativeConnector) -> dict[str, int]:
    weights: dict[str, int] = served(gw.state_dir)["canary"]["weights"]
    return {k.split("~")[1]: v for k, v in weights.items()}


def test_a_hand_edit_of_the_yaml_is_shown_as_drift_not_as_served(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    hand_edit(gw, "weight: 90   # stable", "weight: 60   # stable")
    hand_edit(gw, "weight: 10   # canary", "weight: 40   # canary")
    rc, out, err = run(gw, "routes", capsys=capsys)
    assert rc == 0 and "v1=60 v2=40" in out
    assert "drift" in err and "canary" in err
    rc, out, err = run(gw, "describe", "canary", capsys=capsys)
    assert rc == 0 and "Drift" in out.split("Native objects:")[1]
    rc, out, err = run(gw, "drift", capsys=capsys)
    assert rc == 1, err
    assert "canary" in out and "-  weight: 90" in out and "+  weight: 60" in out
    assert canary_weights(gw) == {"v1": 90, "v2": 10}  # what Envoy serves did not move
    rc, out, _ = run(gw, "gateways", "-o", "json", capsys=capsys)
    (found,) = json.loads(out)
    assert found["state"] == "drift" and found["status"].startswith("drift (") and "canary" in found["reason"]


def test_the_next_unrelated_change_does_not_deploy_a_hand_edit_unseen(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    hand_edit(gw, "weight: 90   # stable", "weight: 60   # stable")
    hand_edit(gw, "weight: 10   # canary", "weight: 40   # canary")
    history = len(gw.history())
    rc, out, err = run(gw, "set-rate-limit", "limited", "--requests", "7", capsys=capsys)
    assert rc == 1
    assert "routes/canary" in out and "+  weight: 60" in out  # the drifted route is in the diff
    assert "--adopt" in err
    assert canary_weights(gw) == {"v1": 90, "v2": 10} and len(gw.history()) == history
    assert served(gw.state_dir)["limited"]["rate_limit"]["max_tokens"] == 5

    rc, out, err = run(gw, "set-rate-limit", "limited", "--requests", "7", "--adopt", capsys=capsys)
    assert rc == 0, err
    assert canary_weights(gw) == {"v1": 60, "v2": 40}
    last = gw.history()[-1]
    assert set(last.routes) == {"canary", "limited"}
    rc, out, _ = run(gw, "drift", capsys=capsys)
    assert rc == 0 and "No drift" in out


def test_a_hand_edited_invalid_split_is_validated_like_any_edit(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    hand_edit(gw, "weight: 10   # canary", "weight: 5   # canary")  # 90/5 in percent mode
    rc, _out, err = run(gw, "set-rate-limit", "limited", "--requests", "7", "--adopt", capsys=capsys)
    assert rc == 1
    assert "backends" in err and "100" in err
    assert canary_weights(gw) == {"v1": 90, "v2": 10}


def test_a_hand_edited_zero_limit_is_refused_naming_the_field_not_by_envoy(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    hand_edit(gw, "rate_limit: {requests: 5,", "rate_limit: {requests: 0,")
    for extra in ((), ("--adopt",)):
        rc, _out, err = run(gw, "set-weights", "canary", "v1=50", "v2=50", *extra, capsys=capsys)
        assert rc == 1
        assert "rate_limit" in err and "protobuf" not in err.lower() and "Envoy rejected" not in err
    assert canary_weights(gw) == {"v1": 90, "v2": 10}


def test_an_edit_of_the_xds_file_itself_is_noticed(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rds = gw.layout.rds("main")
    body = body_of(rds.read_text())
    assert body is not None
    edited = body.replace('{"name":"canary~v1","weight":90}', '{"name":"canary~v1","weight":50}')
    edited = edited.replace('{"name":"canary~v2","weight":10}', '{"name":"canary~v2","weight":50}')
    assert edited != body
    with client(gw) as c:
        before = c.get("/", headers={"host": "canary.test"}).status_code
    xds.atomic_write(rds, file_text("9999", edited))  # a rename: Envoy loads it
    wait_until(lambda: canary_weights(gw) == {"v1": 50, "v2": 50})
    rc, out, err = run(gw, "drift", capsys=capsys)
    assert rc == 1, out + err
    assert "rds-main.json" in out and "canary" in out
    rc, out, err = run(gw, "routes", capsys=capsys)
    assert "drift" in err and "rds-main.json" in err
    rc, out, err = run(gw, "set-rate-limit", "limited", "--requests", "7", capsys=capsys)
    assert rc == 1 and "--adopt" in err
    rc, out, err = run(gw, "set-rate-limit", "limited", "--requests", "7", "--adopt", capsys=capsys)
    assert rc == 0, err
    assert canary_weights(gw) == {"v1": 90, "v2": 10}  # the YAML's weights serve again
    assert before == 200
    rc, out, _ = run(gw, "drift", capsys=capsys)
    assert rc == 0, out


def test_drift_exit_codes_none_and_error(gw: NativeConnector, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(gw, "drift", capsys=capsys)
    assert rc == 0 and "No drift" in out
    gw.stop()
    rc, out, err = run(gw, "drift", capsys=capsys)
    assert rc == 2 and "not running" in err


def test_no_change_is_never_said_while_envoy_serves_something_else(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    hand_edit(gw, "weight: 90   # stable", "weight: 60   # stable")
    hand_edit(gw, "weight: 10   # canary", "weight: 40   # canary")
    # The operator sets what `routes` shows: that is their explicit edit, so no --adopt is needed.
    rc, out, err = run(gw, "set-weights", "canary", "v1=60", "v2=40", capsys=capsys)
    assert rc == 0, err
    assert "No change" not in out and canary_weights(gw) == {"v1": 60, "v2": 40}
    hand_edit(gw, "weight: 60   # stable", "weight: 70   # stable")
    hand_edit(gw, "weight: 40   # canary", "weight: 30   # canary")
    rc, out, err = run(gw, "set-weights", "canary", "v1=60", "v2=40", capsys=capsys)
    assert "No change: the route already looks like that" not in out
    assert "drift" in out
    data = json.loads(json.dumps(served(gw.state_dir)["canary"]))
    assert data["weights"] == {"canary~v1": 60, "canary~v2": 40}


def test_the_pipeline_applies_a_plan_with_drift_only_when_adopted(gw: NativeConnector) -> None:
    """The console's path: ``Change.apply`` refuses a plan carrying drift unless it is adopted."""
    from dataclasses import replace

    from connectors.change import Change
    from connectors.errors import ChangeConflict
    from connectors.model import RateLimit
    from connectors.model.edits import set_rate_limit

    hand_edit(gw, "weight: 10   # canary", "weight: 20   # canary")
    hand_edit(gw, "weight: 90   # stable", "weight: 80   # stable")
    route = gw.get_route("limited")
    plan = Change(gw).plan_edit("rate_limit", route, set_rate_limit(route, RateLimit(7, 60.0)))
    assert plan.drift == ("canary",) and any("drift" in w for w in plan.warnings)
    with pytest.raises(ChangeConflict, match="--adopt"):
        Change(gw).apply(plan)
    assert canary_weights(gw) == {"v1": 90, "v2": 10}
    assert Change(gw).apply(replace(plan, adopt=True)).verification.ok
    assert canary_weights(gw) == {"v1": 80, "v2": 20}


def test_a_hand_edit_of_a_limiter_file_is_drift_naming_the_bucket(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    path = gw.layout.limit("limited")  # the route's limiter (ECDS): its bucket
    body = body_of(path.read_text())
    assert body is not None and '"max_tokens":5,' in body
    xds.atomic_write(path, file_text("9998", body.replace('"max_tokens":5,', '"max_tokens":50,')))
    wait_until(lambda: served(gw.state_dir)["limited"]["rate_limit"]["max_tokens"] == 50)
    rc, out, err = run(gw, "routes", capsys=capsys)
    assert rc == 0 and "drift" in err and "limit-limited.json" in err
    rc, out, err = run(gw, "drift", capsys=capsys)
    assert rc == 1, out + err
    assert "route limited: Envoy serves rate_limit 5/1m burst 50 (expected 5/1m)" in out
    rc, out, err = run(gw, "set-weights", "canary", "v1=80", "v2=20", capsys=capsys)
    assert rc == 1 and "--adopt" in err
    rc, out, err = run(gw, "set-weights", "canary", "v1=80", "v2=20", "--adopt", capsys=capsys)
    assert rc == 0, err
    assert served(gw.state_dir)["limited"]["rate_limit"]["max_tokens"] == 5  # the YAML's bucket again
    rc, out, _ = run(gw, "drift", capsys=capsys)
    assert rc == 0, out
