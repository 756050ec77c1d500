"""Istio connector against the Kubernetes API emulator: the shared examples read into the model,
written back unedited without a write, and edits of weights, CORS and rate limits as objects."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.kube.objects import for_apply
from connectors.model import Cors, RateLimit, StringMatch
from connectors.model.edits import set_cors, set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator, validate_manifest
from tests.test_kube_support import (  # noqa: F401 - fixtures
    EXAMPLES,
    Connect,
    connect_fixture,
    envoy_filter,
    kube_state_fixture,
    load,
    vs,
    writes,
)

RATELIMIT_EXAMPLE = "istio/enable_envoy_local_ratelimit_per_route.yaml"
SRV = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: srv}
spec:
  hosts: [srv]
  http:
  - route:
    - destination: {host: srv}
"""


def assert_valid(manifest: dict[str, Any]) -> None:
    assert validate_manifest(for_apply(manifest)) == []


def load_ratelimit_example(emu: KubeEmulator) -> None:
    text = (EXAMPLES / RATELIMIT_EXAMPLE).read_text().replace("{{ .EchoNamespace }}", "default")
    emu.load_manifests(text)
    emu.load_manifests(SRV)


WEIGHTS: dict[str, dict[str, dict[str, int]]] = {
    "istio/virtual-service-reviews-80-20.yaml": {"reviews-0": {"reviews/v1": 80, "reviews/v2": 20}},
    "istio/virtual-service-reviews-90-10.yaml": {"reviews-0": {"reviews/v1": 90, "reviews/v2": 10}},
    "istio/virtual-service-reviews-50-v3.yaml": {"reviews-0": {"reviews/v1": 50, "reviews/v3": 50}},
    "istio/virtual-service-reviews-v3.yaml": {"reviews-0": {"reviews/v3": 100}},
    "istio/virtual-service-all-v1.yaml": {
        "details-0": {"details/v1": 100},
        "productpage-0": {"productpage/v1": 100},
        "ratings-0": {"ratings/v1": 100},
        "reviews-0": {"reviews/v1": 100},
    },
    "istio/bookinfo-gateway.yaml": {"bookinfo-0": {"productpage:9080": 100}},
}


@pytest.mark.parametrize("example", sorted(WEIGHTS))
def test_virtual_service_examples_read_as_routes_and_write_back_unchanged(
    example: str, kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, example, "istio/destination-rule-all.yaml")
    connector = connect()
    routes = connector.list_routes()
    assert {r.name: {b.name: b.weight for b in r.backends} for r in routes} == WEIGHTS[example]
    assert all(r.weight_mode == "percent" and r.circuit_breaker is None for r in routes)

    kube_emulator.reset_log()
    plan = connector.plan(routes)
    assert plan.is_empty and plan.native_changes == ()
    Change(connector).apply(plan)
    assert writes(kube_emulator) == []


def test_bookinfo_gateway_route_matches_and_listener(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "istio/bookinfo-gateway.yaml")
    route = connect().get_route("bookinfo-0")
    assert [str(m.path) for m in route.matches] == [
        "/productpage",
        "/static*",
        "/login",
        "/logout",
        "/api/v1/products*",
    ]
    assert route.listener == "bookinfo-gateway" and route.hosts == ("*",)
    assert route.source == "VirtualService default/bookinfo http[0]"


def test_envoyfilter_per_route_example_limits_the_matching_route(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load_ratelimit_example(kube_emulator)
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    routes = {r.name: r for r in connect().list_routes()}
    # token_bucket max_tokens 1, tokens_per_fill 1, fill_interval 600s, enabled and enforced 100% -
    # in the outbound routes of the clt workload's sidecars: clt's requests to srv, not everyone's
    assert routes["srv-0"].rate_limit is None
    (rule,) = routes["srv-0"].limit_rules
    assert (rule.requests, rule.interval, rule.clients) == (
        1,
        600.0,
        "requests from workloads labelled app=clt in every namespace",
    )
    assert routes["reviews-0"].rate_limit is None  # the filter's vhost is srv's only
    assert routes["reviews-0"].limit_rules == ()


def test_envoyfilter_inbound_example_limits_routes_to_that_workload(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/local-rate-limit-service.yaml", "istio/bookinfo-gateway.yaml")
    load(kube_emulator, "istio/virtual-service-reviews-90-10.yaml")
    connector = connect()
    routes = {r.name: r for r in connector.list_routes()}
    # the productpage sidecar's inbound limit: 100 tokens per 60s
    assert routes["bookinfo-0"].rate_limit == RateLimit(requests=100, interval=60.0)
    assert routes["reviews-0"].rate_limit is None
    assert "filter-local-ratelimit-svc" in connector.native_objects("bookinfo-0")

    kube_emulator.reset_log()
    plan = connector.plan(list(routes.values()))
    assert plan.is_empty
    assert writes(kube_emulator) == []


def test_weight_edit_is_one_json_patch_guarded_by_resource_version(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    before = vs(kube_emulator, "reviews")
    connector = connect()
    route = connector.get_route("reviews-0")
    plan = connector.plan([set_weights(route, {"reviews/v1": 50, "reviews/v2": 50})])
    assert "-      weight: 80\n+      weight: 50" in plan.native_diff

    kube_emulator.reset_log()
    result = Change(connector).apply(plan)
    assert result.verification.ok
    (patch,) = writes(kube_emulator)
    assert patch.method == "PATCH" and patch.content_type == "application/json-patch+json"
    ops = json.loads(patch.body)
    assert ops[0] == {
        "op": "test",
        "path": "/metadata/resourceVersion",
        "value": before["metadata"]["resourceVersion"],
    }
    assert {o["path"]: o["value"] for o in ops[1:]} == {
        "/spec/http/0/route/0/weight": 50,
        "/spec/http/0/route/1/weight": 50,
    }
    after = vs(kube_emulator, "reviews")
    expected = json.loads(json.dumps(before["spec"]))
    expected["http"][0]["route"][0]["weight"] = expected["http"][0]["route"][1]["weight"] = 50
    assert after["spec"] == expected
    assert_valid(after)
    assert {b.name: b.weight for b in connector.get_route("reviews-0").backends} == {
        "reviews/v1": 50,
        "reviews/v2": 50,
    }


def test_weights_that_do_not_sum_to_100_are_refused_and_nothing_is_written(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    route = connector.get_route("reviews-0")
    kube_emulator.reset_log()
    with pytest.raises(ValidationError, match="sum to 110"):
        connector.plan([set_weights(route, {"reviews/v1": 90, "reviews/v2": 20})])
    assert writes(kube_emulator) == []


def test_cors_edit_writes_the_virtual_service_cors_policy(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    cors = Cors(
        allow_origins=(
            StringMatch("exact", "https://app.example.com"),
            StringMatch("prefix", "https://dev."),
        ),
        allow_methods=("GET", "POST"),
        allow_headers=("x-token",),
        max_age=3600.0,
        allow_credentials=True,
    )
    Change(connector).apply(connector.plan([set_cors(connector.get_route("reviews-0"), cors)]))
    stored = vs(kube_emulator, "reviews")
    assert stored["spec"]["http"][0]["corsPolicy"] == {
        "allowOrigins": [{"exact": "https://app.example.com"}, {"prefix": "https://dev."}],
        "allowMethods": ["GET", "POST"],
        "allowHeaders": ["x-token"],
        "maxAge": "1h",
        "allowCredentials": True,
    }
    assert_valid(stored)
    assert connector.get_route("reviews-0").cors == cors

    Change(connector).apply(connector.plan([set_cors(connector.get_route("reviews-0"), None)]))
    assert "corsPolicy" not in vs(kube_emulator, "reviews")["spec"]["http"][0]


def test_deprecated_allow_origin_is_read_and_kept_when_only_methods_change(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.load_manifests(
        """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: web
    corsPolicy:
      allowOrigin: ["https://old.example.com"]
      allowMethods: [GET]
      unmatchedPreflights: IGNORE
    route:
    - destination: {host: web}
"""
    )
    connector = connect()
    route = connector.get_route("web")
    assert route.cors is not None
    assert route.cors.allow_origins == (StringMatch("exact", "https://old.example.com"),)
    Change(connector).apply(
        connector.plan([set_cors(route, replace(route.cors, allow_methods=("GET", "PUT")))])
    )
    assert vs(kube_emulator, "web")["spec"]["http"][0]["corsPolicy"] == {
        "allowOrigin": ["https://old.example.com"],
        "allowMethods": ["GET", "PUT"],
        "unmatchedPreflights": "IGNORE",
    }


def test_rate_limit_on_a_mesh_route_creates_an_envoyfilter_in_the_example_shape(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    plan = connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(20, 1.0, burst=40))])
    assert [c.label for c in plan.native_changes] == [
        "VirtualService default/reviews",
        "EnvoyFilter default/gatewayctl-ratelimit-mesh",
    ]
    result = Change(connector).apply(plan)
    assert result.verification.ok, result.verification.details

    stored_vs = vs(kube_emulator, "reviews")
    assert stored_vs["spec"]["http"][0]["name"] == "reviews-0"  # HTTP_ROUTE patches match the route name
    ef = envoy_filter(kube_emulator, "gatewayctl-ratelimit-mesh", "default")
    assert ef is not None
    assert_valid(stored_vs)
    assert_valid(ef)
    patches = ef["spec"]["configPatches"]
    assert [p["applyTo"] for p in patches] == ["HTTP_FILTER", "HTTP_ROUTE"]
    assert patches[0]["patch"]["value"]["name"] == "envoy.filters.http.local_ratelimit"
    assert patches[1]["match"] == {
        "context": "SIDECAR_OUTBOUND",
        "routeConfiguration": {"vhost": {"route": {"name": "reviews-0"}}},
    }
    value = patches[1]["patch"]["value"]["typed_per_filter_config"]["envoy.filters.http.local_ratelimit"][
        "value"
    ]
    assert value["token_bucket"] == {"max_tokens": 40, "tokens_per_fill": 20, "fill_interval": "1s"}
    assert value["filter_enforced"]["default_value"]["numerator"] == 100
    assert connector.get_route("reviews-0").rate_limit == RateLimit(20, 1.0, burst=40)

    # A changed limit touches only the EnvoyFilter; removing it deletes our filter.
    kube_emulator.reset_log()
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(5, 60.0))])
    )
    assert [(w.method, w.path.rsplit("/", 2)[-2]) for w in writes(kube_emulator)] == [
        ("PATCH", "envoyfilters")
    ]
    assert connector.get_route("reviews-0").rate_limit == RateLimit(5, 60.0)
    Change(connector).apply(connector.plan([set_rate_limit(connector.get_route("reviews-0"), None)]))
    assert envoy_filter(kube_emulator, "gatewayctl-ratelimit-mesh", "default") is None
    assert connector.get_route("reviews-0").rate_limit is None


def test_rate_limit_on_a_gateway_route_selects_the_gateway_workload(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.create_namespace("istio-system")
    load(kube_emulator, "istio/bookinfo-gateway.yaml")
    connector = connect()
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("bookinfo-0"), RateLimit(100, 1.0))])
    )
    ef = envoy_filter(kube_emulator, "gatewayctl-ratelimit-default-bookinfo-gateway", "istio-system")
    assert ef is not None
    assert_valid(ef)
    assert ef["spec"]["workloadSelector"] == {"labels": {"istio": "ingressgateway"}}
    route_patch = ef["spec"]["configPatches"][1]
    assert route_patch["match"]["context"] == "GATEWAY"
    assert route_patch["match"]["routeConfiguration"]["vhost"] == {
        "name": "*:8080",
        "route": {"name": "bookinfo-0"},
    }
    assert connector.get_route("bookinfo-0").rate_limit == RateLimit(100, 1.0)


def test_editing_an_existing_envoyfilter_keeps_its_other_fields(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    # The upstream example without its client selector: every sidecar's requests to srv are limited.
    text = (EXAMPLES / RATELIMIT_EXAMPLE).read_text().replace("{{ .EchoNamespace }}", "default")
    kube_emulator.load_manifests(text.replace("  workloadSelector:\n    labels:\n      app: clt\n", ""))
    kube_emulator.load_manifests(SRV)
    connector = connect()
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("srv-0"), RateLimit(5, 1.0, enabled=False))])
    )
    ef = envoy_filter(kube_emulator, "filter-local-ratelimit-svc", "istio-system")
    assert ef is not None
    assert_valid(ef)
    value = ef["spec"]["configPatches"][1]["patch"]["value"]["typed_per_filter_config"][
        "envoy.filters.http.local_ratelimit"
    ]["value"]
    assert value["token_bucket"] == {"max_tokens": 5, "tokens_per_fill": 5, "fill_interval": "1s"}
    assert value["filter_enforced"]["default_value"]["numerator"] == 0  # off: neither counted nor enforced
    assert value["response_headers_to_add"][0]["header"]["key"] == "x-local-rate-limit"
    assert connector.get_route("srv-0").rate_limit == RateLimit(5, 1.0, enabled=False)

    Change(connector).apply(connector.plan([set_rate_limit(connector.get_route("srv-0"), None)]))
    ef = envoy_filter(kube_emulator, "filter-local-ratelimit-svc", "istio-system")
    assert ef is not None, "someone else's EnvoyFilter is edited, never deleted"
    assert [p["applyTo"] for p in ef["spec"]["configPatches"]] == ["HTTP_FILTER"]
    assert connector.get_route("srv-0").rate_limit is None


def test_a_limit_shared_with_other_routes_is_not_edited_behind_their_back(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/local-rate-limit-service.yaml", "istio/bookinfo-gateway.yaml")
    load(kube_emulator, "istio/virtual-service-all-v1.yaml")
    connector = connect()
    assert connector.get_route("productpage-0").rate_limit == RateLimit(100, 60.0)
    kube_emulator.reset_log()
    with pytest.raises(ValidationError, match=r"also limits productpage-0"):
        connector.plan([set_rate_limit(connector.get_route("bookinfo-0"), RateLimit(10, 1.0))])
    assert writes(kube_emulator) == []


def test_destination_rule_and_jwt_policies_are_read(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    kube_emulator.load_manifests(
        """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 100}
      http: {http1MaxPendingRequests: 10, maxRetries: 3}
    outlierDetection: {consecutive5xxErrors: 7, interval: 5s, baseEjectionTime: 1m, maxEjectionPercent: 50}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: reviews-jwt}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules:
  - issuer: https://issuer.example.com
    jwksUri: https://issuer.example.com/jwks.json
    audiences: [reviews]
    forwardOriginalToken: true
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from:
    - source: {requestPrincipals: ["*"]}
"""
    )
    route = connect().get_route("reviews-0")
    cb = route.circuit_breaker
    assert (
        cb is not None and cb.max_connections == 100 and cb.max_pending_requests == 10 and cb.max_retries == 3
    )
    assert cb.outlier_detection is not None
    assert (cb.outlier_detection.consecutive_5xx, cb.outlier_detection.base_ejection_time) == (7, 60.0)
    assert route.jwt is not None and route.jwt.required
    (provider,) = route.jwt.providers
    assert (provider.issuer, provider.jwks_uri, provider.audiences, provider.forward) == (
        "https://issuer.example.com",
        "https://issuer.example.com/jwks.json",
        ("reviews",),
        True,
    )


def test_native_objects_show_the_virtual_service_and_its_destination_rule(
    kube_emulator: KubeEmulator, connect: Connect, tmp_path: Path
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml", "istio/destination-rule-reviews.yaml")
    text = connect().native_objects("reviews-0")
    assert "kind: VirtualService" in text and "kind: DestinationRule" in text
    assert "managedFields" not in text and "resourceVersion" not in text
