"""The Kubernetes API emulator, exercised over real HTTP with the official `kubernetes` client."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import kubernetes
import pytest
import urllib3
from kubernetes.client import (
    ApiClient,
    ApiextensionsV1Api,
    ApisApi,
    AuthorizationV1Api,
    CoreApi,
    CoreV1Api,
    CustomObjectsApi,
    V1ConfigMap,
    V1ObjectMeta,
    V1ResourceAttributes,
    V1SelfSubjectAccessReview,
    V1SelfSubjectAccessReviewSpec,
    VersionApi,
)
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.watch import Watch

from tests.kube_emulator import KubeEmulator, Rule
from tests.kube_emulator.crds import load_yaml_documents
from tests.kube_emulator.reference import examples_dir

JsonDict = dict[str, Any]
ClientFactory = Callable[..., ApiClient]

ISTIO, V1 = "networking.istio.io", "v1"
GATEWAY_API = "gateway.networking.k8s.io"
EXAMPLES = examples_dir()
REVIEWS_80_20 = EXAMPLES / "istio" / "virtual-service-reviews-80-20.yaml"
BLUEGREEN = EXAMPLES / "envoy-gateway" / "weighted-backend-bluegreen.yaml"


def as_dict(value: object) -> JsonDict:
    assert isinstance(value, dict), value
    return cast(JsonDict, value)


def status_body(error: ApiException) -> JsonDict:
    return as_dict(json.loads(cast(str, error.body)))


# The kubernetes package ships py.typed but leaves these unannotated.
new_watch = cast(Callable[[], Any], Watch)
new_dynamic_client = cast(Callable[..., Any], DynamicClient)


def config_map(name: str, data: dict[str, str] | None = None) -> V1ConfigMap:
    return V1ConfigMap(metadata=V1ObjectMeta(name=name), data=data)


def reviews_manifest() -> JsonDict:
    return load_yaml_documents(REVIEWS_80_20.read_text())[0]


@pytest.fixture
def admin(kube_emulator: KubeEmulator) -> Iterator[ApiClient]:
    with kube_emulator.api_client() as client:
        yield client


@pytest.fixture
def custom(admin: ApiClient) -> CustomObjectsApi:
    return CustomObjectsApi(admin)


def get_vs(custom: CustomObjectsApi, name: str = "reviews", version: str = V1) -> JsonDict:
    return as_dict(custom.get_namespaced_custom_object(ISTIO, version, "default", "virtualservices", name))


def weights(vs: JsonDict) -> list[int]:
    return [route["weight"] for route in vs["spec"]["http"][0]["route"]]


# -- discovery ---------------------------------------------------------------------------------------


def test_version_and_core_discovery(admin: ApiClient) -> None:
    assert VersionApi(admin).get_code().git_version == "v1.33.1"
    assert CoreApi(admin).get_api_versions().versions == ["v1"]
    names = {r.name for r in CoreV1Api(admin).get_api_resources().resources}
    assert {"namespaces", "services", "pods", "pods/log", "configmaps"} <= names


def test_groups_report_kube_aware_preferred_versions(admin: ApiClient) -> None:
    groups = {g.name: g.to_dict() for g in ApisApi(admin).get_api_versions().groups}
    istio = groups[ISTIO]
    assert istio["preferred_version"]["version"] == "v1"
    assert {v["version"] for v in istio["versions"]} == {"v1", "v1beta1", "v1alpha3"}
    # Telemetry stores v1alpha1 but serves v1 too: v1 is still the preferred (highest) version.
    assert groups["telemetry.istio.io"]["preferred_version"]["version"] == "v1"
    assert groups[GATEWAY_API]["preferred_version"]["version"] == "v1"
    assert groups["gateway.envoyproxy.io"]["preferred_version"]["version"] == "v1alpha1"
    assert {"apiextensions.k8s.io", "authorization.k8s.io", "apps"} <= set(groups)


def test_group_version_lists_resources_with_names_and_verbs(custom: CustomObjectsApi) -> None:
    resources = {r.name: r for r in custom.get_api_resources(ISTIO, V1).resources}
    vs = resources["virtualservices"]
    assert (vs.kind, vs.singular_name, vs.namespaced) == ("VirtualService", "virtualservice", True)
    assert vs.short_names == ["vs"]
    assert "networking-istio-io" in (vs.categories or [])
    assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= set(vs.verbs)
    assert "virtualservices/status" in resources
    # EnvoyFilter is served only as v1alpha3.
    assert "envoyfilters" not in resources
    assert "envoyfilters" in {r.name for r in custom.get_api_resources(ISTIO, "v1alpha3").resources}


def test_dynamic_client_discovers_and_uses_custom_resources(
    kube_dynamic_client: DynamicClient, kube_emulator: KubeEmulator
) -> None:
    vs_api = kube_dynamic_client.resources.get(api_version=f"{ISTIO}/v1", kind="VirtualService")
    assert vs_api.namespaced and vs_api.short_names == ["vs"]
    route_api = kube_dynamic_client.resources.get(api_version=f"{GATEWAY_API}/v1", kind="HTTPRoute")
    vs_api.create(body=reviews_manifest(), namespace="default")
    listed = vs_api.get(namespace="default")
    assert [item.metadata.name for item in listed.items] == ["reviews"]
    route = load_yaml_documents(BLUEGREEN.read_text())[0]
    with pytest.raises(ApiException) as elsewhere:  # the example names its own namespace
        route_api.create(body=route, namespace="default")
    assert elsewhere.value.status == 400
    route["metadata"]["namespace"] = "default"
    route_api.create(body=route, namespace="default")
    assert kube_emulator.objects(kind="HTTPRoute")[0]["metadata"]["name"] == "weight-bluegreen-http-route"


# -- CRUD --------------------------------------------------------------------------------------------


def test_virtual_service_crud(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    created = as_dict(
        custom.create_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", reviews_manifest())
    )
    meta = created["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["namespace"] == "default"

    vs = get_vs(custom)
    assert weights(vs) == [80, 20]
    vs["spec"]["http"][0]["route"][0]["weight"] = 70
    vs["spec"]["http"][0]["route"][1]["weight"] = 30
    updated = as_dict(
        custom.replace_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", vs)
    )
    assert weights(updated) == [70, 30]
    assert updated["metadata"]["generation"] == 2
    assert int(updated["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])

    # The same object is served in every served version; the store keeps v1.
    old_api = get_vs(custom, version="v1alpha3")
    assert old_api["apiVersion"] == f"{ISTIO}/v1alpha3" and weights(old_api) == [70, 30]
    assert kube_emulator.objects(kind="VirtualService")[0]["apiVersion"] == f"{ISTIO}/v1"

    deleted = as_dict(
        custom.delete_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews")
    )
    assert deleted["metadata"]["name"] == "reviews"
    with pytest.raises(ApiException) as missing:
        get_vs(custom)
    body = status_body(missing.value)
    assert (missing.value.status, body["reason"]) == (404, "NotFound")
    assert body["message"] == 'virtualservices.networking.istio.io "reviews" not found'
    assert body["details"] == {"name": "reviews", "group": ISTIO, "kind": "virtualservices"}


def test_create_twice_is_already_exists_and_generate_name_works(custom: CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", reviews_manifest())
    with pytest.raises(ApiException) as again:
        custom.create_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", reviews_manifest())
    assert (again.value.status, status_body(again.value)["reason"]) == (409, "AlreadyExists")

    generated = reviews_manifest()
    generated["metadata"] = {"generateName": "reviews-"}
    made = as_dict(custom.create_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", generated))
    assert (
        made["metadata"]["name"].startswith("reviews-")
        and len(made["metadata"]["name"]) == len("reviews-") + 5
    )


def test_create_in_missing_namespace_is_404(custom: CustomObjectsApi) -> None:
    with pytest.raises(ApiException) as missing:
        custom.create_namespaced_custom_object(ISTIO, V1, "nowhere", "virtualservices", reviews_manifest())
    assert missing.value.status == 404
    assert status_body(missing.value)["message"] == 'namespaces "nowhere" not found'


# -- optimistic concurrency --------------------------------------------------------------------------


def test_stale_resource_version_is_conflict(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    stale = get_vs(custom)
    fresh = copy.deepcopy(stale)
    fresh["spec"]["http"][0]["route"][0]["weight"] = 60
    custom.replace_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", fresh)

    with pytest.raises(ApiException) as put_conflict:
        custom.replace_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", stale)
    body = status_body(put_conflict.value)
    assert (put_conflict.value.status, body["reason"]) == (409, "Conflict")
    assert "the object has been modified; please apply your changes to the latest version" in body["message"]

    stale_patch = {
        "metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
        "spec": {"hosts": ["x"]},
    }
    with pytest.raises(ApiException) as patch_conflict:
        custom.patch_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", stale_patch)
    assert status_body(patch_conflict.value)["reason"] == "Conflict"
    assert get_vs(custom)["spec"]["hosts"] == ["reviews"]


def test_update_of_custom_resource_requires_resource_version(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    vs = get_vs(custom)
    del vs["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as missing:
        custom.replace_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", vs)
    assert missing.value.status == 422
    assert status_body(missing.value)["details"]["causes"][0]["field"] == "metadata.resourceVersion"


# -- patches -----------------------------------------------------------------------------------------


def test_merge_patch_records_field_manager_and_bumps_generation(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    patch = {
        "spec": {"http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 100}]}]}
    }
    result = as_dict(
        custom.patch_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", "reviews", patch, field_manager="gatewayctl"
        )
    )
    assert weights(result) == [100]
    assert result["metadata"]["generation"] == 2
    entry = next(m for m in result["metadata"]["managedFields"] if m["manager"] == "gatewayctl")
    assert entry["operation"] == "Update" and entry["apiVersion"] == f"{ISTIO}/v1"
    assert entry["fieldsType"] == "FieldsV1" and "f:http" in entry["fieldsV1"]["f:spec"]
    patch_requests = kube_emulator.requests(method="PATCH")
    assert patch_requests[-1].content_type == "application/merge-patch+json"
    assert patch_requests[-1].param("fieldManager") == "gatewayctl"


def test_json_patch_applies_and_a_failed_test_op_changes_nothing(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    rv = get_vs(custom)["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 90},
        {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 10},
    ]
    patched = as_dict(
        custom.patch_namespaced_custom_object(
            ISTIO,
            V1,
            "default",
            "virtualservices",
            "reviews",
            ops,
            _content_type="application/json-patch+json",
        )
    )
    assert weights(patched) == [90, 10]

    with pytest.raises(ApiException) as failed:  # same ops: the resourceVersion test now fails
        custom.patch_namespaced_custom_object(
            ISTIO,
            V1,
            "default",
            "virtualservices",
            "reviews",
            ops,
            _content_type="application/json-patch+json",
        )
    assert failed.value.status == 422
    assert "test failed" in status_body(failed.value)["details"]["causes"][0]["message"]
    assert get_vs(custom)["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]


def test_strategic_merge_patch_is_415_for_custom_resources_but_works_for_configmaps(
    custom: CustomObjectsApi, admin: ApiClient, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    with pytest.raises(ApiException) as unsupported:
        custom.patch_namespaced_custom_object(
            ISTIO,
            V1,
            "default",
            "virtualservices",
            "reviews",
            {"spec": {"hosts": ["x"]}},
            _content_type="application/strategic-merge-patch+json",
        )
    body = status_body(unsupported.value)
    assert (unsupported.value.status, body["reason"]) == (415, "UnsupportedMediaType")
    assert body["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )

    core = CoreV1Api(admin)
    core.create_namespaced_config_map("default", config_map("settings", {"a": "1"}))
    patched = core.patch_namespaced_config_map(
        "settings", "default", {"data": {"b": "2"}}, _content_type="application/strategic-merge-patch+json"
    )
    assert patched.data == {"a": "1", "b": "2"}


def test_server_side_apply_owns_fields_and_reports_conflicts(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    def apply(config: JsonDict, manager: str, force: bool | None = None) -> JsonDict:
        _, status, _ = custom.patch_namespaced_custom_object_with_http_info(
            ISTIO,
            V1,
            "default",
            "virtualservices",
            "reviews",
            config,
            field_manager=manager,
            force=force,
            _content_type="application/apply-patch+yaml",
        )
        statuses.append(status)
        return get_vs(custom)

    statuses: list[int] = []

    config = reviews_manifest()
    created = apply(config, "argocd-controller")
    assert statuses == [201]  # apply creates a missing object
    (entry,) = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("argocd-controller", "Apply")
    assert set(entry["fieldsV1"]["f:spec"]) == {"f:hosts", "f:http"}

    ours = copy.deepcopy(config)
    ours["spec"]["http"][0]["route"][0]["weight"] = 50
    ours["spec"]["http"][0]["route"][1]["weight"] = 50
    with pytest.raises(ApiException) as conflict:
        apply(ours, "gatewayctl")
    body = status_body(conflict.value)
    assert (conflict.value.status, body["reason"]) == (409, "Conflict")
    assert body["message"].startswith('Apply failed with 1 conflict: conflict with "argocd-controller"')
    assert body["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": f'conflict with "argocd-controller" using {ISTIO}/v1',
            "field": ".spec.http",
        }
    ]

    forced = apply(ours, "gatewayctl", force=True)
    assert weights(forced) == [50, 50]
    owners = {m["manager"]: m["fieldsV1"]["f:spec"] for m in forced["metadata"]["managedFields"]}
    assert "f:http" in owners["gatewayctl"] and "f:http" not in owners["argocd-controller"]


def test_apply_drops_fields_the_manager_stopped_applying(custom: CustomObjectsApi) -> None:
    def apply(spec: JsonDict) -> JsonDict:
        config = {
            "apiVersion": f"{ISTIO}/v1",
            "kind": "VirtualService",
            "metadata": {"name": "r"},
            "spec": spec,
        }
        custom.patch_namespaced_custom_object(
            ISTIO,
            V1,
            "default",
            "virtualservices",
            "r",
            config,
            field_manager="gatewayctl",
            _content_type="application/apply-patch+yaml",
        )
        return get_vs(custom, "r")

    first = apply({"hosts": ["r"], "gateways": ["mesh"]})
    assert first["spec"]["gateways"] == ["mesh"]
    second = apply({"hosts": ["r"]})
    assert "gateways" not in second["spec"]


# -- validation --------------------------------------------------------------------------------------


def test_wrong_weight_type_is_422_with_field_causes(custom: CustomObjectsApi) -> None:
    bad = reviews_manifest()
    bad["spec"]["http"][0]["route"][0]["weight"] = "abc"
    del bad["spec"]["http"][0]["route"][1]["destination"]["host"]
    with pytest.raises(ApiException) as invalid:
        custom.create_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", bad)
    body = status_body(invalid.value)
    assert (invalid.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith(
        'VirtualService.networking.istio.io "reviews" is invalid: '
        '[spec.http[0].route[0].weight: Invalid value: "string": '
        'spec.http[0].route[0].weight in body must be of type integer: "string"'
    )
    causes = {c["field"]: c for c in body["details"]["causes"]}
    assert causes["spec.http[0].route[0].weight"]["reason"] == "FieldValueTypeInvalid"
    assert causes["spec.http[0].route[1].destination.host"] == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.http[0].route[1].destination.host",
    }
    assert body["details"]["kind"] == "VirtualService" and body["details"]["group"] == ISTIO


def test_httproute_weight_range_and_enum_are_enforced(custom: CustomObjectsApi) -> None:
    route = load_yaml_documents(BLUEGREEN.read_text())[0]
    route["metadata"]["namespace"] = "default"
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = -1
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Glob"
    with pytest.raises(ApiException) as invalid:
        custom.create_namespaced_custom_object(GATEWAY_API, V1, "default", "httproutes", route)
    causes = {c["field"]: c for c in status_body(invalid.value)["details"]["causes"]}
    weight = causes["spec.rules[0].backendRefs[0].weight"]
    assert weight["reason"] == "FieldValueInvalid"
    assert weight["message"].endswith("in body should be greater than or equal to 0")
    path_type = causes["spec.rules[0].matches[0].path.type"]
    assert path_type["reason"] == "FieldValueNotSupported"
    assert path_type["message"] == (
        'Unsupported value: "Glob": supported values: "Exact", "PathPrefix", "RegularExpression"'
    )


def test_unknown_fields_are_pruned_with_a_warning_or_rejected_when_strict(custom: CustomObjectsApi) -> None:
    vs = reviews_manifest()
    vs["spec"]["http"][0]["weigth"] = 5  # a typo: the server drops it
    _, status, headers = custom.create_namespaced_custom_object_with_http_info(
        ISTIO, V1, "default", "virtualservices", vs
    )
    assert status == 201
    assert "weigth" not in get_vs(custom)["spec"]["http"][0]
    assert headers["Warning"] == '299 - "unknown field \\"spec.http[0].weigth\\""'

    vs["metadata"]["name"] = "strict"
    with pytest.raises(ApiException) as strict:
        custom.create_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", vs, field_validation="Strict"
        )
    assert strict.value.status == 400
    assert (
        'strict decoding error: unknown field "spec.http[0].weigth"' in status_body(strict.value)["message"]
    )


def test_schema_defaults_are_applied(custom: CustomObjectsApi) -> None:
    route = {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "plain"},
        "spec": {"parentRefs": [{"name": "eg"}], "rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]},
    }
    stored = as_dict(custom.create_namespaced_custom_object(GATEWAY_API, V1, "default", "httproutes", route))
    assert stored["spec"]["rules"][0]["backendRefs"][0]["weight"] == 1
    assert stored["spec"]["parentRefs"][0]["kind"] == "Gateway"


# -- status subresource ------------------------------------------------------------------------------


def test_status_subresource_is_separate_from_spec_writes(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    route = load_yaml_documents(BLUEGREEN.read_text())[0]
    route["metadata"]["namespace"] = "default"
    route["status"] = {"parents": []}
    created = as_dict(custom.create_namespaced_custom_object(GATEWAY_API, V1, "default", "httproutes", route))
    assert "status" not in created  # create cannot set status
    name = created["metadata"]["name"]

    condition = {
        "type": "Accepted",
        "status": "True",
        "reason": "Accepted",
        "message": "ok",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
        "observedGeneration": 1,
    }
    status = {
        "parents": [
            {
                "parentRef": {"name": "same-namespace"},
                "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                "conditions": [condition],
            }
        ]
    }
    with_status = as_dict(
        custom.patch_namespaced_custom_object_status(
            GATEWAY_API, V1, "default", "httproutes", name, {"status": status}
        )
    )
    assert with_status["status"]["parents"][0]["conditions"][0]["type"] == "Accepted"
    assert with_status["metadata"]["generation"] == 1

    with_status["status"] = {"parents": []}
    with_status["spec"]["hostnames"] = ["example.com"]
    updated = as_dict(
        custom.replace_namespaced_custom_object(GATEWAY_API, V1, "default", "httproutes", name, with_status)
    )
    assert updated["metadata"]["generation"] == 2
    assert updated["status"]["parents"][0]["conditions"][0]["reason"] == "Accepted"  # status write ignored


# -- authentication and authorization ----------------------------------------------------------------


def test_forbidden_user_and_self_subject_access_review(kube_emulator: KubeEmulator) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    kube_emulator.add_user("alice", rules=[Rule(verbs=("get", "list", "watch"), api_groups=(ISTIO,))])
    with kube_emulator.api_client("alice") as alice:
        api = CustomObjectsApi(alice)
        assert (
            len(as_dict(api.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices"))["items"])
            == 1
        )
        with pytest.raises(ApiException) as denied:
            api.patch_namespaced_custom_object(
                ISTIO, V1, "default", "virtualservices", "reviews", {"spec": {}}
            )
        body = status_body(denied.value)
        assert (denied.value.status, body["reason"]) == (403, "Forbidden")
        assert body["message"] == (
            'virtualservices.networking.istio.io "reviews" is forbidden: User "alice" cannot patch resource '
            '"virtualservices" in API group "networking.istio.io" in the namespace "default"'
        )

        def review(verb: str) -> bool:
            attributes = V1ResourceAttributes(
                verb=verb, group=ISTIO, resource="virtualservices", namespace="default"
            )
            spec = V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
            result = AuthorizationV1Api(alice).create_self_subject_access_review(
                V1SelfSubjectAccessReview(spec=spec)
            )
            return bool(result.to_dict()["status"]["allowed"])

        assert review("list") is True
        assert review("patch") is False


def test_readonly_context_from_kubeconfig(kube_api_client: ClientFactory) -> None:
    readonly = CoreV1Api(kube_api_client("emulator-readonly"))
    assert [ns.to_dict()["metadata"]["name"] for ns in readonly.list_namespace().items] == ["default"]
    with pytest.raises(ApiException) as denied:
        readonly.create_namespaced_config_map("default", config_map("x"))
    assert denied.value.status == 403
    admin = CoreV1Api(kube_api_client("emulator"))
    assert admin.create_namespaced_config_map("default", config_map("x")).to_dict()["metadata"]["name"] == "x"


def test_expired_token_is_401(kube_emulator: KubeEmulator, custom: CustomObjectsApi) -> None:
    custom.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices")
    kube_emulator.expire_token(kube_emulator.admin_token)
    with pytest.raises(ApiException) as expired:
        custom.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices")
    assert (expired.value.status, status_body(expired.value)["reason"]) == (401, "Unauthorized")


def test_uninstalled_crd_group_is_404(kube_emulator_factory: Callable[..., KubeEmulator]) -> None:
    emulator = kube_emulator_factory(crds=("gateway-api",))
    with emulator.api_client() as client:
        groups = {g.name for g in ApisApi(client).get_api_versions().groups}
        assert GATEWAY_API in groups and "gateway.envoyproxy.io" not in groups and ISTIO not in groups
        api = CustomObjectsApi(client)
        with pytest.raises(ApiException) as no_group:
            api.list_namespaced_custom_object(
                "gateway.envoyproxy.io", "v1alpha1", "default", "backendtrafficpolicies"
            )
        body = status_body(no_group.value)
        assert (no_group.value.status, body["message"]) == (
            404,
            "the server could not find the requested resource",
        )
        with pytest.raises(ApiException) as no_object:
            api.get_namespaced_custom_object(GATEWAY_API, V1, "default", "httproutes", "absent")
        assert status_body(no_object.value)["details"]["name"] == "absent"


def test_crds_are_listed_through_apiextensions(admin: ApiClient, kube_emulator: KubeEmulator) -> None:
    api = ApiextensionsV1Api(admin)
    crd = api.read_custom_resource_definition("virtualservices.networking.istio.io")
    assert [v.name for v in crd.spec.versions if v.served] == ["v1", "v1alpha3", "v1beta1"]
    conditions = crd.to_dict()["status"]["conditions"]
    assert {"type": "Established", "status": "True"}.items() <= conditions[1].items()
    page = api.list_custom_resource_definition(limit=5)
    assert (
        len(page.items) == 5
        and page.to_dict()["metadata"]["remaining_item_count"] == len(kube_emulator.installed_crds()) - 5
    )


# -- lists, watch ------------------------------------------------------------------------------------


def test_list_pagination_and_selectors(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    for index in range(5):
        vs = reviews_manifest()
        vs["metadata"] = {"name": f"vs-{index}", "labels": {"team": "a" if index % 2 else "b"}}
        kube_emulator.put_object(vs, namespace="default" if index < 4 else "other")

    names: list[str] = []
    token: str | None = None
    while True:
        page = as_dict(
            custom.list_cluster_custom_object(ISTIO, V1, "virtualservices", limit=2, _continue=token)
        )
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == ["vs-0", "vs-1", "vs-2", "vs-3", "vs-4"]

    team_a = as_dict(
        custom.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", label_selector="team=a")
    )
    assert [i["metadata"]["name"] for i in team_a["items"]] == ["vs-1", "vs-3"]
    by_name = as_dict(
        custom.list_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", field_selector="metadata.name=vs-2"
        )
    )
    assert [i["metadata"]["name"] for i in by_name["items"]] == ["vs-2"]
    assert int(by_name["metadata"]["resourceVersion"]) == kube_emulator.resource_version


def test_watch_streams_added_modified_deleted(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    start = as_dict(custom.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices"))
    rv = start["metadata"]["resourceVersion"]

    # Each edit is made once the watch has streamed the one before, so events arrive while it streams.
    edits: list[Callable[[], object]] = [
        lambda: custom.patch_namespaced_custom_object(
            ISTIO, V1, "default", "virtualservices", "reviews", {"spec": {"hosts": ["r2"]}}
        ),
        lambda: custom.delete_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews"),
    ]
    custom.create_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", reviews_manifest())
    watch = new_watch()
    events: list[tuple[str, JsonDict]] = []
    for event in watch.stream(
        custom.list_namespaced_custom_object,
        ISTIO,
        V1,
        "default",
        "virtualservices",
        resource_version=rv,
        timeout_seconds=10,
    ):
        events.append((event["type"], event["object"]))
        if len(events) == 3:
            watch.stop()
        else:
            edits[len(events) - 1]()
    assert [t for t, _ in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1][1]["spec"]["hosts"] == ["r2"]
    versions = [int(obj["metadata"]["resourceVersion"]) for _, obj in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


def test_watch_from_a_compacted_resource_version_is_410(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    old_rv = str(kube_emulator.resource_version)
    kube_emulator.load_manifests(REVIEWS_80_20)
    kube_emulator.compact()
    with pytest.raises(ApiException) as gone:
        for _ in new_watch().stream(
            custom.list_namespaced_custom_object,
            ISTIO,
            V1,
            "default",
            "virtualservices",
            resource_version=old_rv,
            timeout_seconds=2,
        ):
            pass
    assert gone.value.status == 410 and "too old resource version" in str(gone.value.reason)


def test_watch_times_out_with_bookmark(custom: CustomObjectsApi) -> None:
    started = time.monotonic()
    events = list(
        new_watch().stream(
            custom.list_namespaced_custom_object,
            ISTIO,
            V1,
            "default",
            "virtualservices",
            timeout_seconds=1,
            allow_watch_bookmarks=True,
        )
    )
    assert 0.9 < time.monotonic() - started < 5
    assert [e["type"] for e in events] == ["BOOKMARK"]


# -- faults and the request log ----------------------------------------------------------------------


def test_injected_failure_then_success(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    kube_emulator.reset_log()
    kube_emulator.fail_next(1, code=500, path_contains="virtualservices/reviews", method="GET")
    with pytest.raises(ApiException) as failed:
        get_vs(custom)
    assert (failed.value.status, status_body(failed.value)["reason"]) == (500, "InternalError")
    assert weights(get_vs(custom)) == [80, 20]
    assert [r.status for r in kube_emulator.requests(path_contains="virtualservices/reviews")] == [500, 200]


def test_injected_delay_trips_the_client_timeout(
    custom: CustomObjectsApi, kube_emulator: KubeEmulator
) -> None:
    kube_emulator.delay_next(1.0, n=10, path_contains="virtualservices")
    with pytest.raises(urllib3.exceptions.HTTPError):
        custom.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", _request_timeout=0.2)
    kube_emulator.clear_faults()
    assert custom.list_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", _request_timeout=5)


def test_request_log_counts_requests_per_edit(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    kube_emulator.load_manifests(REVIEWS_80_20)
    kube_emulator.reset_log()
    vs = get_vs(custom)
    vs["spec"]["http"][0]["route"][0]["weight"] = 75
    vs["spec"]["http"][0]["route"][1]["weight"] = 25
    custom.replace_namespaced_custom_object(ISTIO, V1, "default", "virtualservices", "reviews", vs)
    assert [(r.method, r.status) for r in kube_emulator.requests()] == [("GET", 200), ("PUT", 200)]
    assert kube_emulator.requests(method="PUT")[0].json()["spec"]["http"][0]["route"][0]["weight"] == 75


# -- seeding, pods -----------------------------------------------------------------------------------

SEEDED = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: gitops
  labels:
    app.kubernetes.io/managed-by: Helm
    argocd.argoproj.io/instance: shop
  annotations:
    argocd.argoproj.io/tracking-id: shop:networking.istio.io/VirtualService:default/gitops
  managedFields:
  - manager: argocd-controller
    operation: Apply
    apiVersion: networking.istio.io/v1
    time: "2025-01-01T00:00:00Z"
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:http": {}}}
spec:
  hosts: [gitops]
  http:
  - route:
    - destination: {host: gitops}
status:
  observedGeneration: 1
"""


def test_seeded_metadata_and_status_are_kept(custom: CustomObjectsApi, kube_emulator: KubeEmulator) -> None:
    (stored,) = kube_emulator.load_manifests(SEEDED)
    served = get_vs(custom, "gitops")
    assert served["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert served["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"].startswith("shop:")
    assert served["metadata"]["managedFields"][0]["manager"] == "argocd-controller"
    assert served["status"] == {"observedGeneration": 1}
    assert stored["metadata"]["uid"] == served["metadata"]["uid"]
    assert kube_emulator.get_object(ISTIO, "v1beta1", "virtualservices", "default", "gitops") is not None


POD = """
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-abc, labels: {app: reviews}}
spec:
  containers:
  - {name: reviews, image: reviews:v1}
  - {name: istio-proxy, image: proxyv2}
status: {phase: Running}
"""


def test_pod_logs(admin: ApiClient, kube_emulator: KubeEmulator) -> None:
    kube_emulator.load_manifests(POD)
    now = datetime.now(UTC)
    kube_emulator.set_pod_logs(
        "default",
        "reviews-v1-abc",
        [
            (now - timedelta(minutes=10), "old"),
            (now - timedelta(seconds=5), "GET /reviews 200"),
            (now, "GET /reviews 503"),
        ],
        container="istio-proxy",
    )
    kube_emulator.set_pod_logs("default", "reviews-v1-abc", ["app started"], container="reviews")
    core = CoreV1Api(admin)
    read = core.read_namespaced_pod_log
    assert read("reviews-v1-abc", "default", container="istio-proxy", tail_lines=2) == (
        "GET /reviews 200\nGET /reviews 503\n"
    )
    assert read("reviews-v1-abc", "default", container="istio-proxy", since_seconds=60).count("\n") == 2
    assert read("reviews-v1-abc", "default", container="reviews") == "app started\n"
    with pytest.raises(ApiException) as ambiguous:
        read("reviews-v1-abc", "default")
    assert ambiguous.value.status == 400
    assert "choose one of: [reviews istio-proxy]" in status_body(ambiguous.value)["message"]
    with pytest.raises(ApiException) as missing:
        read("nope", "default")
    assert missing.value.status == 404
    pods = core.list_namespaced_pod("default", field_selector="status.phase=Running")
    assert [p.to_dict()["metadata"]["name"] for p in pods.items] == ["reviews-v1-abc"]


# -- examples and the CLI ----------------------------------------------------------------------------

EXAMPLE_FILES = sorted(EXAMPLES.glob("*/*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_upstream_example_loads_through_the_api(
    path: Path, kube_emulator: KubeEmulator, tmp_path: Path
) -> None:
    """Each document goes through the real write path (POST) and reads back with its spec intact."""
    documents = load_yaml_documents(path.read_text())
    assert documents
    with kube_emulator.api_client() as client:
        dynamic = new_dynamic_client(client, cache_file=str(tmp_path / "discovery.json"))
        for document in documents:
            namespace = document["metadata"].get("namespace", "default")
            if not kube_emulator.cluster.namespace_exists(namespace):
                kube_emulator.create_namespace(namespace)
            resource = dynamic.resources.get(api_version=document["apiVersion"], kind=document["kind"])
            created = resource.create(body=document, namespace=namespace if resource.namespaced else None)
            read_back = resource.get(
                name=document["metadata"]["name"], namespace=namespace if resource.namespaced else None
            )
            assert read_back.metadata.uid == created.metadata.uid
            for key, value in (document.get("spec") or {}).items():
                if not isinstance(value, list | dict):
                    assert read_back.to_dict()["spec"][key] == value


def test_cli_serves_manifests_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.kube_emulator",
            "--port",
            "0",
            "--crds",
            "istio",
            "--load",
            str(REVIEWS_80_20),
            "--kubeconfig",
            str(kubeconfig),
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert lines[0].startswith("Kubernetes API emulator at https://127.0.0.1:")
        assert f"KUBECONFIG={kubeconfig}" in lines[1]
        client = cast(Callable[..., ApiClient], kubernetes.config.new_client_from_config)(
            config_file=str(kubeconfig), persist_config=False
        )
        with client:
            assert weights(get_vs(CustomObjectsApi(client))) == [80, 20]
    finally:
        process.send_signal(signal.SIGINT)
        try:  # a machine busy with other tests can take a while to finish the interpreter
            process.communicate(timeout=30)
        finally:  # never leave it running (it would fail a later test with a ResourceWarning)
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0
