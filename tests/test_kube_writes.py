"""Writes that never clobber: conflicts, rollback of multi-object changes, ownership warnings,
export for GitOps review, undo, and the history and audit records of Kubernetes changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.change import Change
from connectors.errors import ChangeConflict, ConnectionFailed
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator, validate_manifest
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    envoy_filter,
    kube_state_fixture,
    load,
    vs,
    writes,
)


def test_a_concurrent_change_is_a_conflict_that_shows_what_changed_and_writes_nothing(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 50, "reviews/v2": 50})]
    )

    theirs = vs(kube_emulator, "reviews")
    theirs["spec"]["http"][0]["route"][0]["weight"] = 70
    theirs["spec"]["http"][0]["route"][1]["weight"] = 30
    kube_emulator.put_object(theirs)
    kube_emulator.reset_log()

    with pytest.raises(ChangeConflict) as conflict:
        Change(connector).apply(plan)
    message = str(conflict.value)
    assert "VirtualService default/reviews was changed by someone else" in message
    assert "-      weight: 80\n+      weight: 70" in message  # what they did, so the operator can re-plan
    assert writes(kube_emulator) == []
    assert [d["weight"] for d in vs(kube_emulator, "reviews")["spec"]["http"][0]["route"]] == [70, 30]
    assert connector.history() == []


def test_when_the_second_object_fails_the_first_is_rolled_back(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    original = vs(kube_emulator, "reviews")
    connector = connect()
    connector.client.backoff = 0.01
    plan = connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(10, 1.0))])
    assert [c.label for c in plan.native_changes] == [
        "VirtualService default/reviews",  # names the route first, so the filter can match it
        "EnvoyFilter default/gatewayctl-ratelimit-mesh",
    ]
    kube_emulator.fail_next(4, 500, method="POST", path_contains="envoyfilters")
    with pytest.raises(ConnectionFailed) as failed:
        Change(connector).apply(plan)
    assert "rolled back VirtualService default/reviews" in str(failed.value)
    restored = vs(kube_emulator, "reviews")
    assert restored["spec"] == original["spec"]
    assert envoy_filter(kube_emulator, "gatewayctl-ratelimit-mesh", "default") is None


def test_a_conflict_on_the_second_route_undoes_the_first(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-all-v1.yaml", "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    details = connector.get_route("details-0")
    reviews = connector.get_route("reviews-0")
    # Three objects: name the details route, shift reviews, create the EnvoyFilter for details.
    plan = connector.plan(
        [
            set_weights(reviews, {"reviews/v1": 10, "reviews/v2": 90}),
            set_rate_limit(details, RateLimit(3, 1.0)),
        ]
    )
    assert [c.label for c in plan.native_changes] == [
        "VirtualService default/details",
        "VirtualService default/reviews",
        "EnvoyFilter default/gatewayctl-ratelimit-mesh",
    ]
    theirs = vs(kube_emulator, "reviews")
    theirs["metadata"].setdefault("labels", {})["touched"] = "yes"
    kube_emulator.put_object(theirs)
    before_details = vs(kube_emulator, "details")

    with pytest.raises(ChangeConflict) as conflict:
        Change(connector).apply(plan)
    assert "rolled back VirtualService default/details" in str(conflict.value)
    assert vs(kube_emulator, "details")["spec"] == before_details["spec"]
    assert envoy_filter(kube_emulator, "gatewayctl-ratelimit-mesh", "default") is None
    assert vs(kube_emulator, "reviews")["metadata"]["labels"] == {"touched": "yes"}


MARKERS: dict[str, tuple[dict[str, Any], str | None]] = {
    "Argo CD": (
        {
            "annotations": {
                "argocd.argoproj.io/tracking-id": "shop:networking.istio.io/VirtualService:default/reviews"
            }
        },
        None,
    ),
    "Helm": (
        {
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "shop"},
        },
        None,
    ),
    "Flagger": (
        {
            "ownerReferences": [
                {
                    "apiVersion": "flagger.app/v1beta1",
                    "kind": "Canary",
                    "name": "reviews",
                    "uid": "u1",
                    "controller": True,
                }
            ]
        },
        None,
    ),
    "Argo Rollouts": ({"annotations": {"rollouts.argoproj.io/managed-by-rollouts": "reviews-rollout"}}, None),
    "Flux": ({}, "kustomize-controller"),
}


@pytest.mark.parametrize("controller", sorted(MARKERS))
def test_controllers_that_would_revert_the_edit_are_named_in_warnings(
    controller: str, kube_emulator: KubeEmulator, connect: Connect
) -> None:
    (manifest,) = load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    metadata, manager = MARKERS[controller]
    fresh = copy.deepcopy(manifest)
    for key, value in metadata.items():
        fresh["metadata"][key] = value
    fresh["metadata"].pop("managedFields", None)
    kube_emulator.delete_object("networking.istio.io", "virtualservices", "default", "reviews")
    kube_emulator.put_object(fresh, manager=manager)
    connector = connect()
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 0, "reviews/v2": 100})]
    )
    assert any(
        w.startswith(f"VirtualService default/reviews is managed by {controller} (") for w in plan.warnings
    ), plan.warnings
    Change(connector).apply(plan)  # the operator may still go on, knowingly
    assert [d["weight"] for d in vs(kube_emulator, "reviews")["spec"]["http"][0]["route"]] == [0, 100]


def test_a_plain_route_has_no_ownership_warning(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 0, "reviews/v2": 100})]
    )
    assert plan.warnings == ()


def test_export_writes_applyable_yaml_and_changes_nothing(
    kube_emulator: KubeEmulator, connect: Connect, tmp_path: Path
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    assert connector.capabilities().can_export
    plan = connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(10, 1.0))])
    kube_emulator.reset_log()

    (file,) = connector.export(plan, tmp_path / "review" / "plan.yaml")
    docs = [d for d in yaml.safe_load_all(file.read_text()) if d]
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("VirtualService", "reviews"),
        ("EnvoyFilter", "gatewayctl-ratelimit-mesh"),
    ]
    for doc in docs:
        assert validate_manifest(doc) == []
        assert set(doc) <= {"apiVersion", "kind", "metadata", "spec"}
        assert set(doc["metadata"]) <= {"name", "namespace", "labels", "annotations", "resourceVersion"}
    # The existing object carries the version planned against (kubectl apply then conflicts if it
    # changed meanwhile); the new one has none.
    assert "resourceVersion" in docs[0]["metadata"] and "resourceVersion" not in docs[1]["metadata"]
    assert docs[0]["spec"]["http"][0]["name"] == "reviews-0"

    files = connector.export(plan, tmp_path / "gitops")
    assert sorted(p.name for p in files) == [
        "envoyfilter-default-gatewayctl-ratelimit-mesh.yaml",
        "virtualservice-default-reviews.yaml",
    ]
    assert writes(kube_emulator) == []


def test_export_of_a_removal_names_the_object_to_delete(
    kube_emulator: KubeEmulator, connect: Connect, tmp_path: Path
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(10, 1.0))])
    )
    plan = connector.plan([set_rate_limit(connector.get_route("reviews-0"), None)])
    (file,) = connector.export(plan, tmp_path / "remove.yaml")
    assert (
        "DELETES EnvoyFilter default/gatewayctl-ratelimit-mesh: "
        "kubectl delete envoyfilters.networking.istio.io gatewayctl-ratelimit-mesh -n default"
    ) in file.read_text()


def test_undo_restores_the_objects_and_history_and_audit_record_it(
    kube_emulator: KubeEmulator, connect: Connect, kube_state: Path
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    original = vs(kube_emulator, "reviews")
    connector = connect()
    Change(connector).apply(
        connector.plan([set_weights(connector.get_route("reviews-0"), {"reviews/v1": 5, "reviews/v2": 95})])
    )
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(9, 1.0))])
    )

    Change(connector).apply(connector.plan_undo())  # the rate limit goes: our EnvoyFilter is deleted
    assert envoy_filter(kube_emulator, "gatewayctl-ratelimit-mesh", "default") is None
    Change(connector).apply(connector.plan_undo())  # the weights come back
    restored = vs(kube_emulator, "reviews")
    assert [d["weight"] for d in restored["spec"]["http"][0]["route"]] == [80, 20]
    assert restored["spec"] == original["spec"]  # the route name the rate limit added is gone too

    history = kube_state / "kube" / "emulator" / "default" / "history.jsonl"
    entries = [json.loads(line) for line in history.read_text().splitlines()]
    assert [e["action"] for e in entries] == ["apply", "apply", "undo", "undo"]
    assert entries[0]["description"] == "reviews-0: weights reviews/v1 80→5, reviews/v2 20→95"
    audit = (kube_state / "audit.jsonl").read_text()
    records = [json.loads(line) for line in audit.splitlines()]
    assert [r["description"] for r in records][1] == "reviews-0: rate limit none→9/s"
    assert kube_emulator.admin_token not in audit and kube_emulator.admin_token not in history.read_text()
