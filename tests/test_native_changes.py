"""Changing a running native gateway: apply, verify, undo, history and audit, the YAML file kept
as the operator wrote it, conflicts with changes made meanwhile, whole-config plans."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from connectors.change import Change
from connectors.errors import ChangeConflict, ChangeRejected, ValidationError
from connectors.model import Cors, HeaderOps, HeaderRewrite, Route, StringMatch, WeightedBackend
from connectors.model.edits import set_cors, set_weights
from connectors.native import NativeConnector
from connectors.paths import state_dir
from tests.native_support import JwtSigner, client
from tests.waiting import wait_until


def _split(c: httpx.Client, host: str, n: int) -> Counter[str]:
    return Counter(c.get("/", headers={"host": host}).headers.get("x-backend", "none") for _ in range(n))


def test_apply_then_undo_restores_the_previous_behaviour(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    with client(gw) as c:
        assert _split(c, "v1.test", 20) == {"v1": 20}
        route = gw.get_route("host-v1")
        plan = gw.plan([replace(route, backends=(WeightedBackend("v1", 0), WeightedBackend("v2", 100)))])
        assert "+- name: v2" in plan.model_diff
        assert any("host-v1~v2 (CDS)" in ch.label for ch in plan.native_changes)  # a new cluster
        result = Change(gw).apply(plan)
        assert result.verification.ok, result.verification.details
        assert _split(c, "v1.test", 20) == {"v2": 20}

        undo = gw.plan_undo()
        assert undo.undoes == result.entry.id
        assert Change(gw).apply(undo).verification.ok
        assert _split(c, "v1.test", 20) == {"v1": 20}
    assert gw.get_route("host-v1") == route
    entries = gw.history()
    assert [e.action for e in entries] == ["apply", "undo"]
    assert entries[1].undoes == entries[0].id


def test_weight_change_applies_to_the_next_request_on_a_keep_alive_connection(
    shared_native_gateway: NativeConnector,
) -> None:
    gw = shared_native_gateway
    before = gw.get_route("canary")
    with client(gw) as c:
        assert _split(c, "canary.test", 30)["v1"] > 15  # the connection is open (keep-alive)
        try:
            Change(gw).apply(gw.plan([set_weights(before, {"v1": 0, "v2": 100})]))
            assert _split(c, "canary.test", 30) == {"v2": 30}
            Change(gw).apply(gw.plan([set_weights(before, {"v1": 100, "v2": 0})]))
            assert _split(c, "canary.test", 30) == {"v1": 30}
        finally:
            Change(gw).apply(gw.plan([before]))
        assert c.get("/", headers={"host": "canary.test"}).extensions["network_stream"] is not None


def test_cors_edit_changes_what_browsers_are_granted(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    before = gw.get_route("cors")
    preflight = {"host": "cors.test", "access-control-request-method": "GET", "origin": "https://new.example"}
    with client(gw) as c:
        assert "access-control-allow-origin" not in c.options("/", headers=preflight).headers
        cors = Cors(allow_origins=(StringMatch("exact", "https://new.example"),), allow_methods=("GET",))
        plan = gw.plan([set_cors(before, cors)])
        assert [ch.label for ch in plan.native_changes] == ["routes/cors (RDS)"]  # routes only
        try:
            assert Change(gw).apply(plan).verification.ok
            granted = c.options("/", headers=preflight)
            assert granted.headers["access-control-allow-origin"] == "https://new.example"
        finally:
            Change(gw).apply(gw.plan([before]))


def test_yaml_comments_and_formatting_survive_an_apply(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    original = gw.config_path.read_text()
    Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 70, "v2": 30})]))
    saved = gw.config_path.read_text()
    changed = [(a, b) for a, b in zip(original.splitlines(), saved.splitlines(), strict=True) if a != b]
    assert changed == [
        ("        weight: 90   # stable share", "        weight: 70   # stable share"),
        ("        weight: 10   # canary share", "        weight: 30   # canary share"),
    ]


def test_history_and_audit_are_written_without_secrets(
    native_gateway: NativeConnector, jwt_signer: JwtSigner
) -> None:
    gw = native_gateway
    token = jwt_signer.token("mallory")
    # A route that carries a credential: it is applied, but never written to the audit log.
    edited = replace(
        gw.get_route("host-v2"),
        headers=HeaderRewrite(request=HeaderOps(set=(("x-upstream-auth", f"Bearer {token}"),))),
    )
    result = Change(gw).apply(gw.plan([edited]))
    assert result.verification.ok
    history = [json.loads(x) for x in (gw.state_dir / "history.jsonl").read_text().splitlines()]
    assert history[-1]["routes"] == ["host-v2"] and history[-1]["id"] == result.entry.id
    audit_text = (state_dir() / "audit.jsonl").read_text()
    audit = json.loads(audit_text.splitlines()[-1])
    assert audit["routes"] == ["host-v2"]
    assert audit["gateway"] == "native:test-gw"
    assert audit["verified"] is True and audit["change_id"] == result.entry.id
    assert token not in audit_text
    with client(gw) as c:
        response = c.get("/", headers={"host": "v2.test", "x-user-id": "bob"})
        assert response.status_code == 200
        signed = c.get("/", headers={"host": "secure.test", "authorization": f"Bearer {token}"})
        assert signed.status_code == 200
    # The access log names the route and the configured x-user-id header, never Authorization.
    records = _access_log(gw, lambda r: r.get("route") == "secure")
    bob = [r for r in records if r.get("x-user-id") == "bob"]
    assert bob and bob[-1]["route"] == "host-v2" and bob[-1]["upstream_cluster"] == "host-v2~v2"
    assert bob[-1]["status"] == 200
    assert token not in gw.access_log_path.read_text()


def _access_log(gw: NativeConnector, until: Callable[[dict[str, object]], bool]) -> list[dict[str, object]]:
    """The access log's records, once one satisfies ``until`` (Envoy flushes it every 250 ms)."""

    def records() -> list[dict[str, object]] | None:
        text = gw.access_log_path.read_text() if gw.access_log_path.exists() else ""
        found = [json.loads(line) for line in text.splitlines() if line.strip()]
        return found if any(until(r) for r in found) else None

    return wait_until(records, 5, what="the access log record")


def test_a_plan_made_before_someone_edited_the_file_is_refused(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    plan = gw.plan([set_weights(gw.get_route("canary"), {"v1": 50, "v2": 50})])
    path = gw.config_path
    path.write_text(path.read_text().replace("# the canary", "# the canary (edited by hand)"))
    with pytest.raises(ChangeConflict, match="changed since the plan; re-plan"):
        Change(gw).apply(plan)
    with client(gw) as c:
        assert _split(c, "canary.test", 50)["v2"] < 20  # still 90/10
    # Re-planning picks up the edited file and works.
    assert (
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 50, "v2": 50})])).verification.ok
    )
    assert "(edited by hand)" in path.read_text()


def test_whole_config_plan_adds_and_removes_routes_and_undo_reverts_it(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    model = gw.gateway()
    added = Route(name="added", hosts=("added.test",), backends=(WeightedBackend("v2", 100),))
    new = replace(model, routes=(*[r for r in model.routes if r.name != "host-v2"], added))
    plan = gw.plan_gateway(new)
    assert set(plan.routes) == {"added", "host-v2"}
    result = Change(gw).apply(plan)
    assert result.verification.ok, result.verification.details
    with client(gw) as c:
        assert c.get("/", headers={"host": "added.test"}).headers["x-backend"] == "v2"
        assert c.get("/", headers={"host": "v2.test"}).status_code == 404
        assert "host-v2~v2" not in gw.cluster_names()
        Change(gw).apply(gw.plan_undo())
        assert c.get("/", headers={"host": "added.test"}).status_code == 404
        assert c.get("/", headers={"host": "v2.test"}).headers["x-backend"] == "v2"
    assert "added" not in {r.name for r in gw.list_routes()}


def test_native_objects_and_cluster_names_describe_envoy(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    text = gw.native_objects("limited")
    assert "routes/limited (RDS)" in text and "clusters/limited~v1 (CDS)" in text
    assert "max_tokens: 5" in text
    assert gw.cluster_names()["canary~v2"] == ("canary", "v2")
    assert gw.listener_url() == gw.listener_url("main")
    state = json.loads((gw.state_dir / "state.json").read_text())
    assert state["name"] == "test-gw"
    assert state["admin_url"] == gw.admin_url
    assert state["listeners"]["main"] == gw.listener_url().removeprefix("http://")
    assert Path(state["config"]) == gw.config_path
    assert state["pid"] > 0 and Path(state["access_log"]) == gw.access_log_path


def test_readonly_connector_refuses_changes(shared_native_gateway: NativeConnector) -> None:
    from connectors.errors import PermissionDenied

    viewer = NativeConnector.attach(shared_native_gateway.state_dir, readonly=True)
    try:
        plan = viewer.plan([set_weights(viewer.get_route("canary"), {"v1": 0, "v2": 100})])
        with pytest.raises(PermissionDenied):
            Change(viewer).apply(plan)
        assert not viewer.capabilities().can("weights")
    finally:
        viewer.close()
    assert shared_native_gateway.get_route("canary").backends[0].weight == 90


def test_plan_refuses_a_route_edit_that_breaks_validation(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    with pytest.raises(ValidationError) as err:
        gw.plan([set_weights(gw.get_route("canary"), {"v1": 95})])
    assert "weights sum to 105, they must sum to 100" in str(err.value)


def test_a_weight_change_rewrites_only_the_routes_file(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    files = {p.name: p for p in gw.layout.xds_dir.glob("*.json")}

    def versions() -> dict[str, str]:
        return {
            name: json.loads(path.read_text())["version_info"]
            for name, path in files.items()
            if name != "bootstrap.json"
        }

    before = versions()
    canary = gw.get_route("canary")
    Change(gw).apply(gw.plan([set_weights(canary, {"v1": 85, "v2": 15})]))
    try:
        after = versions()
        assert after["cds.json"] == before["cds.json"] and after["lds.json"] == before["lds.json"]
        assert int(after["rds-main.json"]) > int(before["rds-main.json"])
    finally:
        Change(gw).apply(gw.plan([canary]))


def test_envoy_that_does_not_answer_makes_the_apply_time_out_and_changes_nothing(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    rds = gw.layout.rds("main")
    before = rds.read_text()
    yaml_before = gw.config_path.read_text()
    gw._deploy.pusher.timeout = 1.0  # a frozen Envoy would otherwise be waited for 15 s
    assert gw.pid is not None
    os.kill(gw.pid, signal.SIGSTOP)
    try:
        with pytest.raises(ChangeRejected, match=r"did not load the new routes of listener main \(RDS\)"):
            Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 0, "v2": 100})]))
    finally:
        os.kill(gw.pid, signal.SIGCONT)
    assert gw.config_path.read_text() == yaml_before
    restored = json.loads(rds.read_text())
    assert json.loads(before)["resources"][0]["name"] == restored["resources"][0]["name"]
    with client(gw) as c:  # the old weights still serve, and a new apply works
        assert _split(c, "canary.test", 40)["v1"] >= 30
        gw._deploy.pusher.timeout = 15.0
        assert (
            Change(gw)
            .apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 0, "v2": 100})]))
            .verification.ok
        )
        assert _split(c, "canary.test", 10) == {"v2": 10}
