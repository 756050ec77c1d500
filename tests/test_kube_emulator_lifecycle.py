"""Kube emulator: object lifecycle details (finalizers, dry runs, preconditions, CRDs and namespaces
created and deleted through the API, collections, selectors in watches, log streaming)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from kubernetes.client import (
    ApiClient,
    ApisApi,
    AuthorizationV1Api,
    CoreV1Api,
    CustomObjectsApi,
    V1DeleteOptions,
    V1Preconditions,
    V1SelfSubjectRulesReview,
    V1SelfSubjectRulesReviewSpec,
)
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.watch import Watch

from tests.kube_emulator import KubeEmulator, read_only
from tests.kube_emulator.crds import load_yaml_documents, select_crds
from tests.kube_emulator.reference import examples_dir

JsonDict = dict[str, Any]
ISTIO, V1 = "networking.istio.io", "v1"
REVIEWS_80_20 = examples_dir() / "istio" / "virtual-service-reviews-80-20.yaml"
new_watch = cast(Callable[[], Any], Watch)


def as_dict(value: object) -> JsonDict:
    assert isinstance(value, dict), value
    return cast(JsonDict, value)


def reviews(name: str = "reviews", **metadata: Any) -> JsonDict:
    manifest = load_yaml_documents(REVIEWS_80_20.read_text())[0]
    manifest["metadata"] = {"name": name, **metadata}
    return manifest


@pytest.fixture
def admin(kube_emulator: KubeEmulator) -> Iterator[ApiClient]:
    with kube_emulator.api_client() as client:
        yield client


@pytest.fixture
def custom(admin: ApiClient) -> CustomObjectsApi:
    return CustomObjectsApi(admin)


def vs_names(custom: CustomObjectsApi, namespace: str = "default") -> list[str]:
    listed = as_dict(custom.list_namespaced_custom_object(ISTIO, V1, namespace, "virtualservices"))
    return [item["metadata"]["name"] for item in listed["items"]]


def test_finalizers_hold_deletion_until_cleared(custom: CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(
        ISTIO, V1, "default", "virtualservices", reviews(finalizers=["example.com/cleanup"])
    )
    pending = as_dict(
        custom.delete_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews")
    )
    assert pending["metadata"]["deletionTimestamp"]
    assert vs_names(custom) == ["reviews"]
    custom.patch_namespaced_custom_object(
        ISTIO, V1, "default", "virtualservices", "reviews", {"metadata": {"finalizers": None}}
    )
    assert vs_names(custom) == []


def test_dry_run_and_delete_preconditions(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    dry = as_dict(
        custom.create_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", reviews(), dry_run="All"
        )
    )
    assert dry["metadata"]["uid"] and vs_names(custom) == []

    (stored,) = kube_emulator.load_manifests(REVIEWS_80_20)
    custom.patch_namespaced_custom_object(
        ISTIO, V1, "default", "virtualservices", "reviews", {"spec": {"hosts": ["a"]}}, dry_run="All"
    )
    assert kube_emulator.objects(kind="VirtualService")[0]["spec"]["hosts"] == ["reviews"]

    stale = V1DeleteOptions(preconditions=V1Preconditions(resource_version="1"))
    with pytest.raises(ApiException) as conflict:
        custom.delete_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", body=stale)
    assert conflict.value.status == 409
    assert (
        "Precondition failed: ResourceVersion in precondition: 1"
        in json.loads(str(conflict.value.body))["message"]
    )
    current = V1DeleteOptions(preconditions=V1Preconditions(uid=stored["metadata"]["uid"]))
    custom.delete_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", body=current)
    assert vs_names(custom) == []


def test_metadata_only_changes_keep_the_generation(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    labelled = as_dict(
        custom.patch_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", "reviews", {"metadata": {"labels": {"team": "a"}}}
        )
    )
    assert labelled["metadata"]["generation"] == 1
    again = as_dict(
        custom.patch_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", "reviews", {"metadata": {"labels": {"team": "a"}}}
        )
    )
    # A write that changes nothing is not persisted: no new resourceVersion, no watch event.
    assert again["metadata"]["resourceVersion"] == labelled["metadata"]["resourceVersion"]


def test_delete_collection_by_label(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    for name, team in (("a", "x"), ("b", "y"), ("c", "x")):
        kube_emulator.put_object(reviews(name, labels={"team": team}))
    deleted = as_dict(
        custom.delete_collection_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", label_selector="team=x"
        )
    )
    assert [item["metadata"]["name"] for item in deleted["items"]] == ["a", "c"]
    assert vs_names(custom) == ["b"]


def test_deleting_a_namespace_deletes_its_objects(admin: ApiClient, kube_emulator: KubeEmulator) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20, namespace="shop")
    kube_emulator.load_manifests(REVIEWS_80_20, namespace="default")
    CoreV1Api(admin).delete_namespace("shop")
    assert [(o["metadata"]["namespace"]) for o in kube_emulator.objects(kind="VirtualService")] == ["default"]
    assert [n["metadata"]["name"] for n in kube_emulator.objects(kind="Namespace")] == ["default"]


def test_crd_created_and_deleted_through_the_api(kube_emulator_factory: Callable[..., KubeEmulator]) -> None:
    emulator = kube_emulator_factory()  # no CRDs at all
    (crd,) = select_crds(["BackendTrafficPolicy"])
    with emulator.api_client() as client:
        api = CustomObjectsApi(client)
        crds = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        with pytest.raises(ApiException) as before:
            api.list_namespaced_custom_object(
                "gateway.envoyproxy.io", "v1alpha1", "default", "backendtrafficpolicies"
            )
        assert before.value.status == 404
        api.create_cluster_custom_object(*crds, {"apiVersion": "apiextensions.k8s.io/v1", **crd})
        assert "gateway.envoyproxy.io" in {g.name for g in ApisApi(client).get_api_versions().groups}
        policy = load_yaml_documents((examples_dir() / "envoy-gateway/local-ratelimit.yaml").read_text())[1]
        policy["metadata"]["namespace"] = "default"
        api.create_namespaced_custom_object(
            "gateway.envoyproxy.io", "v1alpha1", "default", "backendtrafficpolicies", policy
        )
        api.delete_cluster_custom_object(*crds, crd["metadata"]["name"])
        assert "gateway.envoyproxy.io" not in {g.name for g in ApisApi(client).get_api_versions().groups}
    assert emulator.objects(kind="BackendTrafficPolicy") == []


def test_continue_token_expires_after_compaction(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    for name in ("a", "b", "c"):
        kube_emulator.put_object(reviews(name))
    page = as_dict(custom.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", limit=1))
    assert page["metadata"]["remainingItemCount"] == 2
    kube_emulator.put_object(reviews("d"))  # history moves on, then gets compacted past the token
    kube_emulator.compact()
    with pytest.raises(ApiException) as expired:
        custom.list_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", limit=1, _continue=page["metadata"]["continue"]
        )
    assert (expired.value.status, json.loads(str(expired.value.body))["reason"]) == (410, "Expired")


def test_watch_with_a_selector_sees_objects_enter_and_leave(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    rv = str(kube_emulator.resource_version)
    kube_emulator.put_object(reviews())
    for team in ("a", "b"):
        custom.patch_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", "reviews", {"metadata": {"labels": {"team": team}}}
        )
    watch = new_watch()
    seen = []
    for event in watch.stream(
        custom.list_namespaced_custom_object,
        ISTIO,
        V1,
        "default",
        "virtualservices",
        resource_version=rv,
        label_selector="team=a",
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["object"]["metadata"].get("labels")))
        if len(seen) == 2:
            watch.stop()
    assert seen == [("ADDED", {"team": "a"}), ("DELETED", {"team": "b"})]


def test_pod_log_follow_streams_new_lines(admin: ApiClient, kube_emulator: KubeEmulator) -> None:
    kube_emulator.load_manifests(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx}]}\n"
    )
    kube_emulator.set_pod_logs("default", "web", ["one"])
    watch = new_watch()
    lines = []
    for line in watch.stream(CoreV1Api(admin).read_namespaced_pod_log, "web", "default"):
        lines.append(line)
        if len(lines) == 2:
            watch.stop()
        else:  # the follow is open (it streamed "one"): a line added now must arrive on it
            kube_emulator.set_pod_logs("default", "web", ["two"], append=True)
    assert lines == ["one", "two"]


def test_throttling_with_and_without_retry_after(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.fail_next(1, code=429)
    with pytest.raises(ApiException) as throttled:
        vs_names(custom)
    assert (throttled.value.status, json.loads(str(throttled.value.body))["reason"]) == (
        429,
        "TooManyRequests",
    )
    kube_emulator.reset_log()
    kube_emulator.fail_next(1, code=429, retry_after=0)
    assert vs_names(custom) == []  # urllib3 honours Retry-After on 429 and retries by itself
    assert [r.status for r in kube_emulator.requests()] == [429, 200]


def test_dynamic_client_patch_types_and_apply(
    kube_dynamic_client: DynamicClient, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    dynamic = cast(Any, kube_dynamic_client)
    vs_api = dynamic.resources.get(api_version=f"{ISTIO}/v1", kind="VirtualService")
    with pytest.raises(ApiException) as strategic:  # the DynamicClient's default patch type
        vs_api.patch(body={"spec": {"hosts": ["x"]}}, name="reviews", namespace="default")
    assert strategic.value.status == 415
    merged = vs_api.patch(
        body={"spec": {"hosts": ["x"]}},
        name="reviews",
        namespace="default",
        content_type="application/merge-patch+json",
    )
    assert merged.spec.hosts == ["x"]
    applied = vs_api.server_side_apply(
        body=reviews(), namespace="default", field_manager="gatewayctl", force_conflicts=True
    )
    assert applied.spec.hosts == ["reviews"]
    assert {m.manager for m in applied.metadata.managedFields} >= {"gatewayctl"}


def test_kubeconfig_has_admin_and_readonly_contexts(
    kubeconfig_path: Path, kube_emulator: KubeEmulator
) -> None:
    config = yaml.safe_load(kubeconfig_path.read_text())
    assert config["current-context"] == "emulator"
    assert {c["name"]: c["context"]["user"] for c in config["contexts"]} == {
        "emulator": "admin",
        "emulator-readonly": "readonly",
    }
    assert config["clusters"][0]["cluster"]["server"] == kube_emulator.url
    assert {u["name"]: u["user"]["token"] for u in config["users"]}["readonly"] == "readonly-token"


def test_rules_review_lists_what_a_user_may_do(kube_emulator: KubeEmulator) -> None:
    kube_emulator.add_user("viewer", token="viewer-token", rules=read_only(api_groups=(ISTIO,)))
    with kube_emulator.api_client("viewer") as viewer:
        review = AuthorizationV1Api(viewer).create_self_subject_rules_review(
            V1SelfSubjectRulesReview(spec=V1SelfSubjectRulesReviewSpec(namespace="default"))
        )
        rules = review.to_dict()["status"]["resource_rules"]
    assert [(r["verbs"], r["api_groups"], r["resources"]) for r in rules] == [
        (["get", "list", "watch"], [ISTIO], ["*"])
    ]


def test_fixed_clock_and_a_short_watch_history(kube_emulator_factory: Callable[..., KubeEmulator]) -> None:
    fixed = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    emulator = kube_emulator_factory(
        crds=("VirtualService.networking.istio.io",), clock=lambda: fixed, history_window=3
    )
    start = str(emulator.resource_version)
    with emulator.api_client() as client:
        api = CustomObjectsApi(client)
        created = as_dict(
            api.create_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", reviews())
        )
        assert created["metadata"]["creationTimestamp"] == "2025-03-01T12:00:00Z"
        assert created["metadata"]["managedFields"][0]["time"] == "2025-03-01T12:00:00Z"
        for host in ("a", "b", "c"):  # four events: the oldest falls out of a three-event history
            api.patch_namespaced_custom_object(
                ISTIO, V1, "default", "virtualservices", "reviews", {"spec": {"hosts": [host]}}
            )
        with pytest.raises(ApiException) as gone:
            for _ in new_watch().stream(
                api.list_namespaced_custom_object,
                ISTIO,
                V1,
                "default",
                "virtualservices",
                resource_version=start,
                timeout_seconds=2,
            ):
                pass
        assert gone.value.status == 410
        recent = str(int(start) + 2)  # still within the window: replays what followed
        watch = new_watch()
        hosts = []
        for event in watch.stream(
            api.list_namespaced_custom_object,
            ISTIO,
            V1,
            "default",
            "virtualservices",
            resource_version=recent,
            timeout_seconds=2,
        ):
            hosts.append(event["object"]["spec"]["hosts"])
            if len(hosts) == 2:
                watch.stop()
        assert hosts == [["b"], ["c"]]
