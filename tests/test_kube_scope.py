"""Policy scope is computed, not guessed: a policy object shows on a route only where it applies
(root namespace, workload selectors, targetRefs with sectionName, gateway vs mesh), and an edit that
would change other routes or workloads is refused with their list unless the operator chose so."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    envoy_filter,
    kube_state_fixture,
    load,
    writes,
)


def bucket(requests: int, seconds: int) -> dict[str, Any]:
    """A LocalRateLimit in the shape of Istio's examples (TypedStruct)."""
    percent = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
    return {
        "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
        "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "value": {
            "stat_prefix": "http_local_rate_limiter",
            "token_bucket": {
                "max_tokens": requests,
                "tokens_per_fill": requests,
                "fill_interval": f"{seconds}s",
            },
            "filter_enabled": {"runtime_key": "e", **percent},
            "filter_enforced": {"runtime_key": "f", **percent},
        },
    }


def root_filter(name: str, labels: dict[str, str] | None, requests: int = 5) -> dict[str, Any]:
    """An EnvoyFilter in istio-system limiting every route of the proxies it selects."""
    spec: dict[str, Any] = {
        "configPatches": [
            {
                "applyTo": "HTTP_ROUTE",
                "patch": {
                    "operation": "MERGE",
                    "value": {
                        "typed_per_filter_config": {
                            "envoy.filters.http.local_ratelimit": bucket(requests, 60)
                        }
                    },
                },
            }
        ]
    }
    if labels is not None:
        spec["workloadSelector"] = {"labels": labels}
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": spec,
    }


CART = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart]
  http:
  - route:
    - destination: {host: cart}
"""


@pytest.fixture(name="two_namespaces")
def two_namespaces_fixture(kube_emulator: KubeEmulator) -> KubeEmulator:
    kube_emulator.create_namespace("istio-system")
    kube_emulator.create_namespace("shop")
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    kube_emulator.load_manifests(CART, namespace="shop")
    return kube_emulator


def test_a_root_filter_that_selects_one_client_is_not_every_routes_limit(
    two_namespaces: KubeEmulator, connect: Connect
) -> None:
    two_namespaces.put_object(root_filter("limit-clt", {"app": "clt"}))
    for namespace, route_name in (("default", "reviews-0"), ("shop", "cart-0")):
        route = connect(namespace=namespace).get_route(route_name)
        assert route.rate_limit is None, route_name  # only clt's requests are limited
        (rule,) = route.limit_rules
        assert (rule.kind, rule.requests, rule.interval) == ("local", 5, 60.0)
        assert rule.clients == "requests from workloads labelled app=clt in every namespace"
        assert rule.source == "EnvoyFilter istio-system/limit-clt configPatches[0]"
        assert "ratelimit(clients)" in route.policy_names()


def test_set_rate_limit_next_to_a_client_scoped_filter_creates_a_route_scoped_one(
    two_namespaces: KubeEmulator, connect: Connect
) -> None:
    two_namespaces.put_object(root_filter("limit-clt", {"app": "clt"}))
    before = envoy_filter(two_namespaces, "limit-clt", "istio-system")
    connector = connect(namespace="shop")
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("cart-0"), RateLimit(3, 1.0))])
    )
    assert envoy_filter(two_namespaces, "limit-clt", "istio-system")["spec"] == before["spec"]
    assert envoy_filter(two_namespaces, "gatewayctl-ratelimit-mesh", "shop") is not None
    assert connector.get_route("cart-0").rate_limit == RateLimit(3, 1.0)
    assert connect(namespace="default").get_route("reviews-0").rate_limit is None


def test_an_edit_of_a_filter_shared_across_namespaces_is_refused_with_what_it_reaches(
    two_namespaces: KubeEmulator, connect: Connect
) -> None:
    two_namespaces.put_object(root_filter("limit-all", None))
    connector = connect(namespace="shop")
    route = connector.get_route("cart-0")  # alone in its namespace, limited by the mesh-wide filter
    assert route.rate_limit == RateLimit(5, 60.0)
    two_namespaces.reset_log()
    with pytest.raises(ValidationError) as refused:
        connector.plan([set_rate_limit(route, RateLimit(50, 60.0))])
    message = str(refused.value)
    assert "EnvoyFilter istio-system/limit-all configPatches[0], which also limits" in message
    assert "every route of every proxy in every namespace" in message
    assert "route reviews-0 in namespace default" in message
    assert "--all-affected" in message
    assert writes(two_namespaces) == []

    connector.affect_shared = True  # the operator chose to change them all
    plan = connector.plan([set_rate_limit(route, RateLimit(50, 60.0))])
    assert any("route reviews-0 in namespace default" in w for w in plan.warnings), plan.warnings
    Change(connector).apply(plan)
    assert connect(namespace="default").get_route("reviews-0").rate_limit == RateLimit(50, 60.0)


GATEWAY_AND_MESH = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge}
spec:
  hosts: ["*"]
  gateways: [public]
  http:
  - route:
    - destination: {host: productpage}
"""


def test_gateway_filters_reach_gateway_routes_and_not_mesh_routes(
    two_namespaces: KubeEmulator, connect: Connect
) -> None:
    two_namespaces.load_manifests(GATEWAY_AND_MESH)
    ef = root_filter("limit-ingress", {"istio": "ingressgateway"}, requests=9)
    ef["spec"]["configPatches"][0]["match"] = {"context": "GATEWAY"}
    two_namespaces.put_object(ef)
    routes = {r.name: r for r in connect().list_routes()}
    assert routes["edge-0"].rate_limit == RateLimit(9, 60.0)
    assert routes["reviews-0"].rate_limit is None and routes["reviews-0"].limit_rules == ()


SECURITY = """
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: reviews-jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules:
  - issuer: https://issuer.example.com
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ratings-jwt}
spec:
  selector: {matchLabels: {app: ratings}}
  jwtRules:
  - issuer: https://ratings.example.com
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-for-clt}
spec:
  host: reviews
  workloadSelector: {matchLabels: {app: clt}}
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 1}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-mesh-wide, namespace: istio-system}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 100}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: istio-system-reviews, namespace: istio-system}
spec:
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 7}}
"""


def test_jwt_and_destination_rules_follow_namespace_and_selector_scope(
    two_namespaces: KubeEmulator, connect: Connect
) -> None:
    two_namespaces.load_manifests(SECURITY)
    route = connect().get_route("reviews-0")
    assert route.jwt is not None
    assert [p.issuer for p in route.jwt.providers] == ["https://issuer.example.com"]
    # the clt-only rule and the root namespace's rule for istio-system's own "reviews" do not apply
    assert route.circuit_breaker is not None and route.circuit_breaker.max_connections == 100
    text = connect().native_objects("reviews-0")
    assert "reviews-mesh-wide" in text and "reviews-for-clt" not in text and "ratings-jwt" not in text


SAME_NAME_ELSEWHERE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [default/bookinfo-gateway]
  http:
  - name: bookinfo-0
    route:
    - destination: {host: shop-frontend}
"""


def test_a_new_gateway_limit_that_would_also_match_a_route_of_another_namespace_is_refused(
    two_namespaces: KubeEmulator, connect: Connect
) -> None:
    load(two_namespaces, "istio/bookinfo-gateway.yaml")
    two_namespaces.load_manifests(SAME_NAME_ELSEWHERE, namespace="shop")
    connector = connect()
    two_namespaces.reset_log()
    with pytest.raises(ValidationError, match="route bookinfo-0 in namespace shop"):
        connector.plan([set_rate_limit(connector.get_route("bookinfo-0"), RateLimit(10, 1.0))])
    assert writes(two_namespaces) == []
    # Without the look-alike the same edit is planned (and touches nothing of namespace shop).
    two_namespaces.delete_object("networking.istio.io", "virtualservices", "shop", "bookinfo")
    plan = connector.plan([set_rate_limit(connector.get_route("bookinfo-0"), RateLimit(10, 1.0))])
    assert [c.label for c in plan.native_changes] == [
        "VirtualService default/bookinfo",
        "EnvoyFilter istio-system/gatewayctl-ratelimit-default-bookinfo-gateway",
    ]


def test_undo_of_a_change_made_for_all_affected_routes_carries_that_choice(
    two_namespaces: KubeEmulator, connect: Connect
) -> None:
    two_namespaces.put_object(root_filter("limit-all", None))
    before = envoy_filter(two_namespaces, "limit-all", "istio-system")["spec"]
    connector = connect(namespace="shop")
    connector.affect_shared = True
    route = connector.get_route("cart-0")
    Change(connector).apply(connector.plan([set_rate_limit(route, RateLimit(50, 60.0))]))

    again = connect(namespace="shop")  # a later session, without --all-affected
    assert not again.affect_shared
    plan = Change(again).plan_undo()
    assert any("route reviews-0 in namespace default" in w for w in plan.warnings), plan.warnings
    Change(again).apply(plan)
    assert envoy_filter(two_namespaces, "limit-all", "istio-system")["spec"] == before
    assert connect(namespace="default").get_route("reviews-0").rate_limit == RateLimit(5, 60.0)
