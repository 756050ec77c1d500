"""`validate_manifest` against the upstream CRD schemas; seeding the emulator with the upstream examples."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.kube_emulator import KubeEmulator, validate_manifest
from tests.kube_emulator.crds import load_yaml_documents, select_crds
from tests.kube_emulator.reference import examples_dir

JsonDict = dict[str, Any]
EXAMPLES = examples_dir()
EXAMPLE_FILES = sorted(EXAMPLES.glob("*/*.yaml"))


def example(relative: str, index: int = 0) -> JsonDict:
    return load_yaml_documents((EXAMPLES / relative).read_text())[index]


def test_examples_are_found() -> None:
    assert len(EXAMPLE_FILES) >= 18
    assert {p.parent.name for p in EXAMPLE_FILES} == {"istio", "envoy-gateway"}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_upstream_example_validates_and_seeds(path: Path, kube_emulator: KubeEmulator) -> None:
    documents = load_yaml_documents(path.read_text())
    for document in documents:
        assert validate_manifest(document) == [], f"{document['kind']}/{document['metadata']['name']}"
    loaded = kube_emulator.load_manifests(path)
    assert [(o["kind"], o["metadata"]["name"]) for o in loaded] == [
        (d["kind"], d["metadata"]["name"]) for d in documents
    ]


def test_templated_placeholders_are_plain_strings() -> None:
    envoy_filter = example("istio/enable_envoy_local_ratelimit_per_route.yaml")
    vhost = envoy_filter["spec"]["configPatches"][1]["match"]["routeConfiguration"]["vhost"]["name"]
    assert "{{ .EchoNamespace }}" in vhost
    assert validate_manifest(envoy_filter) == []


def test_errors_name_the_field_and_the_rule() -> None:
    vs = example("istio/virtual-service-reviews-80-20.yaml")
    vs["spec"]["http"][0]["route"][0]["weight"] = "abc"
    vs["spec"]["http"][0]["match"] = [{"uri": {"exact": "/a", "prefix": "/b"}}]
    vs["spec"]["http"][0]["retries"] = {"atempts": 3}
    assert validate_manifest(vs) == [
        "spec.http[0].retries.atempts: unknown field (the API server would drop it)",
        'spec.http[0].match[0].uri: Invalid value: "object": spec.http[0].match[0].uri in body must validate '
        "one and only one schema (oneOf)",
        'spec.http[0].route[0].weight: Invalid value: "string": spec.http[0].route[0].weight in body must be '
        'of type integer: "string"',
    ]
    assert validate_manifest(vs, allow_unknown_fields=True)[0].startswith("spec.http[0].match[0].uri")


def test_httproute_limits() -> None:
    route = example("envoy-gateway/weighted-backend-bluegreen.yaml")
    too_many = copy.deepcopy(route)
    too_many["spec"]["rules"] = too_many["spec"]["rules"] * 17
    assert "spec.rules: Too many: 17: must have at most 16 items" in validate_manifest(too_many)
    heavy = copy.deepcopy(route)
    heavy["spec"]["rules"][0]["backendRefs"][0]["weight"] = 1_000_001
    assert validate_manifest(heavy) == [
        "spec.rules[0].backendRefs[0].weight: Invalid value: 1000001: spec.rules[0].backendRefs[0].weight in "
        "body should be less than or equal to 1000000"
    ]


def test_duplicate_keys_in_list_maps_are_reported() -> None:
    gateway = example("envoy-gateway/quickstart.yaml", 1)
    gateway["spec"]["listeners"].append(dict(gateway["spec"]["listeners"][0]))
    errors = validate_manifest(gateway)
    assert errors == ['spec.listeners[1]: Duplicate value: {"name": "http"}']


def test_required_fields_with_defaults_are_not_errors_but_missing_ones_are() -> None:
    policy = example("envoy-gateway/local-ratelimit.yaml", 1)
    assert validate_manifest(policy) == []
    del policy["spec"]["rateLimit"]["local"]["rules"][0]["limit"]["unit"]
    assert validate_manifest(policy) == ["spec.rateLimit.local.rules[0].limit.unit: Required value"]


def test_versions_and_kinds_must_be_served() -> None:
    envoy_filter = example("istio/local-rate-limit-service.yaml")
    assert validate_manifest(envoy_filter) == []
    envoy_filter["apiVersion"] = "networking.istio.io/v1"  # EnvoyFilter is only served as v1alpha3
    assert validate_manifest(envoy_filter) == [
        'no matches for kind "EnvoyFilter" in version "networking.istio.io/v1"'
    ]
    older = example("istio/virtual-service-reviews-80-20.yaml")
    older["apiVersion"] = "networking.istio.io/v1beta1"
    assert validate_manifest(older) == []


def test_metadata_is_checked() -> None:
    vs = example("istio/virtual-service-reviews-80-20.yaml")
    vs["metadata"] = {"name": "Reviews_1", "labels": {"app": "bad value"}}
    errors = validate_manifest(vs)
    assert errors[0].startswith('metadata.name: Invalid value: "Reviews_1": a lowercase RFC 1123 subdomain')
    assert errors[1].startswith('metadata.labels: Invalid value: "bad value": a valid label')


def test_crd_selection_by_bundle_kind_and_name() -> None:
    assert len(select_crds(["envoy-gateway"])) == 6
    assert [c["metadata"]["name"] for c in select_crds(["HTTPRoute"])] == [
        "httproutes.gateway.networking.k8s.io"
    ]
    assert [c["metadata"]["name"] for c in select_crds(["Gateway.networking.istio.io"])] == [
        "gateways.networking.istio.io"
    ]
    with pytest.raises(ValueError, match="ambiguous"):
        select_crds(["Gateway"])
