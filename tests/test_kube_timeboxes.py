"""Time-boxed changes on Kubernetes gateways, on the API emulator: the expiry is written on the
objects (annotations), any console or CLI that sees a due one reverts it through the change pipeline
(exactly), and a revert over someone's later edit is left alone and marked as needing a decision."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.change.timebox import revert_expired, revert_on_sight
from connectors.kube.connector import KubeConnector
from connectors.kube.timeboxes import BOXES, CHANGE_ID, EXPIRES_AT
from connectors.model import Deny
from connectors.timeboxes import dismiss
from tests.kube_emulator import KubeEmulator
from tests.test_kube_deny import CRAWLER, RANGE, SHOP, ap, apply, deny, specs
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
    writes,
)
from tests.waiting import wait_until
from tui.cli import main

POLICY = "gatewayctl-deny-default-api"


def timeboxed_deny(connector: KubeConnector, seconds: float) -> str:
    edited = deny(connector, "api", CRAWLER)
    change = Change(connector)
    result = change.apply(change.plan_edit("deny", connector.get_route("api"), edited))
    change.revert_later(result, seconds)
    return result.entry.id


@pytest.fixture(name="shop")
def shop_fixture(kube_emulator: KubeEmulator) -> KubeEmulator:
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(SHOP)
    return kube_emulator


def test_the_expiry_is_written_on_the_object_and_reverted_exactly(
    shop: KubeEmulator, connect: Connect
) -> None:
    connector = connect()
    start = specs(shop)
    change_id = timeboxed_deny(connector, 3600)
    annotations = ap(shop, POLICY)["metadata"]["annotations"]
    assert annotations[CHANGE_ID] == change_id
    assert annotations[EXPIRES_AT].endswith("Z")
    (box,) = json.loads(annotations[BOXES])
    assert (box["id"], box["status"], box["routes"]) == (change_id, "pending", ["api"])
    assert Change(connector).hooks.reverts.boxes()[0].id == change_id

    assert revert_expired(connector) == [], "not due yet"
    (done,) = revert_expired(connector, now=box["due"] + 1)
    assert done.status == "reverted", done.reason
    assert ap(shop, POLICY) is None
    assert specs(shop) == start
    undo = connector.history()[-1]
    assert (undo.action, undo.undoes) == ("undo", change_id)
    assert undo.description.startswith("revert after 1h: api: deny nobody→x-user-id=crawler-7")
    assert Change(connector).hooks.reverts.boxes() == []


def test_any_console_that_sees_a_due_box_reverts_it(
    shop: KubeEmulator, connect: Connect, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    connector = connect()
    start = specs(shop)
    timeboxed_deny(connector, 1)
    # Another operator's machine: no history, no object journal of that change.
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "elsewhere"))
    other = connect()
    assert other.get_route("api").deny == Deny((CRAWLER,))
    assert revert_on_sight(connect(readonly=True)) == [], "read-only consoles leave it"
    lines = wait_until(lambda: revert_on_sight(other), what="the due box reverted")
    assert lines[0].startswith("Reverted "), lines
    assert specs(shop) == start


def test_a_revert_over_a_later_edit_needs_a_decision(shop: KubeEmulator, connect: Connect) -> None:
    connector = connect()
    change_id = timeboxed_deny(connector, 60)
    apply(connector, deny(connector, "api", CRAWLER, RANGE))  # someone denies another client meanwhile
    edited = specs(shop)
    due = Change(connector).hooks.reverts.boxes()[0].due
    shop.reset_log()
    (box,) = revert_expired(connector, now=due + 1)
    assert box.status == "needs-decision"
    assert "deny rules of route api changed since the time-boxed change" in box.reason
    assert specs(shop) == edited, "nothing is forced"
    annotations = ap(shop, POLICY)["metadata"]["annotations"]
    (kept,) = json.loads(annotations[BOXES])
    assert (kept["id"], kept["status"]) == (change_id, "needs-decision")
    assert EXPIRES_AT not in annotations
    assert revert_expired(connector, now=due + 2) == [], "decided once: not tried again"
    # The operator keeps it as it is: the box says so on the object, nothing else changes.
    kept_box = dismiss(Change(connector).hooks.reverts, change_id, "ops")
    assert kept_box.status == "dismissed" and specs(shop) == edited
    (after,) = json.loads(ap(shop, POLICY)["metadata"]["annotations"][BOXES])
    assert (after["id"], after["status"]) == (change_id, "dismissed")


def test_the_cli_writes_the_time_box_and_revert_expired_carries_it_out(
    shop: KubeEmulator,
    kubeconfig_path: Path,
    kube_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    start = specs(shop)

    def cli(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([*args, "--context", "emulator", "-n", "default"])
        out, err = capsys.readouterr()
        return rc, out, err

    rc, out, err = cli("deny", "api", "--client", "x-user-id=crawler-7", "--for", "1s")
    assert rc == 0, err
    assert "Time box: reverts by itself" in out
    rc, out, _ = cli("revert-expired", "--list")
    assert "api: deny nobody→x-user-id=crawler-7" in out

    def reverted() -> tuple[int, str, str] | None:
        r = cli("revert-expired")
        return r if "Reverted " in r[1] else None

    rc, out, err = wait_until(reverted, what="revert-expired reverting the deny")
    assert rc == 0, out + err
    assert specs(shop) == start
    rc, out, _ = cli("revert-expired", "--list")
    assert out.strip() == "no time boxes"


def test_any_cli_command_carries_out_a_due_box(
    shop: KubeEmulator,
    connect: Connect,
    kubeconfig_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    start = specs(shop)
    timeboxed_deny(connect(), 0.2)
    wait_until(lambda: Change(connect()).hooks.reverts.boxes()[0].remaining() == 0)
    capsys.readouterr()
    assert main(["routes", "-o", "json", "--context", "emulator", "-n", "default"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out), "the command's own output stays clean JSON"
    assert "gatewayctl-tui: time box: Reverted " in err
    assert specs(shop) == start


def test_an_envoy_gateway_deny_for_a_while_reverts_exactly_annotations_too(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    ns = "gateway-conformance-infra"
    load(kube_emulator, "envoy-gateway/cors-security-policy.yaml", namespace=ns)
    connector = connect(namespace=ns)

    def policy() -> dict[str, Any]:
        found = kube_emulator.get_object(
            "gateway.envoyproxy.io", "v1alpha1", "securitypolicies", ns, "cors-exact"
        )
        assert found is not None
        return found

    before = policy()
    route = connector.get_route("http-with-cors-exact-0")
    change = Change(connector)
    result = change.apply(change.plan_edit("deny", route, replace(route, deny=Deny((CRAWLER,)))))
    change.revert_later(result, 600)
    assert policy()["metadata"]["annotations"][CHANGE_ID] == result.entry.id
    (done,) = revert_expired(connector, now=result.entry.time + 601)
    assert done.status == "reverted", done.reason
    after = policy()
    assert after["spec"] == before["spec"]
    assert after["metadata"].get("annotations") == before["metadata"].get("annotations")
