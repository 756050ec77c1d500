"""What the gateways do is what the route shows: fault injection, retries as written, global and
per-client rate-limit rules (read-only, with why), wildcard CORS origins, authorization rules,
per-backend filters, hosts narrowed by the parent listener, and the plan and report wording."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.change import Change
from connectors.errors import ChangeConflict, ValidationError
from connectors.model import (
    Authorization,
    AuthzRule,
    BackendFilter,
    Fault,
    RateLimit,
    Retries,
    StringMatch,
    route_to_dict,
)
from connectors.model.edits import set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
    vs,
)

NS = "gateway-conformance-infra"

ISTIO_FAULT = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - fault:
      delay: {percentage: {value: 10.0}, fixedDelay: 5s}
      abort: {percentage: {value: 1.5}, httpStatus: 503}
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "retriable-status-codes,503", backoff: 100ms}
    route:
    - destination: {host: ratings, subset: v1}
"""


def test_istio_fault_and_retries_are_read_as_written(kube_emulator: KubeEmulator, connect: Connect) -> None:
    kube_emulator.load_manifests(ISTIO_FAULT)
    route = connect().get_route("ratings-0")
    assert route.fault == Fault(delay=5.0, delay_percent=10.0, abort_status=503, abort_percent=1.5)
    assert route.retries == Retries(
        attempts=3, per_try_timeout=2.0, retry_on=("retriable-status-codes",), codes=(503,), backoff=0.1
    )
    assert "fault" in route.policy_names()
    shown = route_to_dict(route)
    assert shown["fault"] == {"delay": "5s", "delay_percent": 10.0, "abort_status": 503, "abort_percent": 1.5}
    assert shown["retries"]["codes"] == [503] and shown["retries"]["backoff"] == "100ms"


ISTIO_GLOBAL = """
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: filter-ratelimit, namespace: istio-system}
spec:
  workloadSelector: {labels: {istio: ingressgateway}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: GATEWAY
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
          domain: ratelimit
          failure_mode_deny: true
          rate_limit_service:
            grpc_service:
              envoy_grpc: {cluster_name: "outbound|8081||ratelimit.default.svc.cluster.local"}
            transport_api_version: V3
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: filter-ratelimit-svc, namespace: istio-system}
spec:
  workloadSelector: {labels: {istio: ingressgateway}}
  configPatches:
  - applyTo: VIRTUAL_HOST
    match:
      context: GATEWAY
      routeConfiguration: {vhost: {name: "", route: {action: ANY}}}
    patch:
      operation: MERGE
      value:
        rate_limits:
        - actions:
          - request_headers: {header_name: ":path", descriptor_key: PATH}
"""


def test_istio_global_rate_limit_is_shown_read_only_with_its_descriptors(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(ISTIO_GLOBAL)
    load(kube_emulator, "istio/bookinfo-gateway.yaml", "istio/virtual-service-reviews-80-20.yaml")
    routes = {r.name: r for r in connect().list_routes()}
    gateway_route = routes["bookinfo-0"]
    assert gateway_route.rate_limit is None
    (rule,) = gateway_route.limit_rules
    assert (rule.kind, rule.requests, rule.clients) == ("global", None, "descriptors request_headers PATH")
    assert rule.source == "EnvoyFilter istio-system/filter-ratelimit"
    assert "domain ratelimit" in rule.why_readonly
    assert "ratelimit(global)" in gateway_route.policy_names()
    assert routes["reviews-0"].limit_rules == ()  # a mesh route does not pass the ingress gateway


def test_istio_descriptor_buckets_are_shown_next_to_the_route_limit(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.create_namespace("istio-system")
    load(kube_emulator, "istio/local-rate-limit-service.yaml", "istio/bookinfo-gateway.yaml")
    route = connect().get_route("bookinfo-0")
    assert route.rate_limit == RateLimit(100, 60.0)
    (rule,) = route.limit_rules
    assert (rule.kind, rule.requests, rule.interval) == ("local", 10, 60.0)
    assert rule.clients == "requests whose descriptor is header_match=productpage"


# -- Envoy Gateway -----------------------------------------------------------------------------------


def test_client_selector_rules_are_shown_and_kept_when_the_limit_is_removed(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/local-ratelimit.yaml", namespace=NS)
    connector = connect(namespace=NS)
    route = connector.get_route("http-ratelimit-specific-user-0")
    assert route.rate_limit == RateLimit(10, 3600.0)
    (rule,) = route.limit_rules
    assert (rule.kind, rule.requests, rule.interval, rule.clients) == ("local", 3, 3600.0, "x-user-id=john")
    assert rule.source == f"BackendTrafficPolicy {NS}/ratelimit-specific-user rateLimit.local.rules[1]"

    plan = connector.plan([set_rate_limit(route, None)])
    (change,) = plan.changes

    def kept(rules: Any) -> list[tuple[Any, ...]]:
        return [(r.kind, r.requests, r.interval, r.clients) for r in rules]

    assert kept(change.after.limit_rules) == kept(route.limit_rules)  # the per-user rule stays
    assert "10/1h→none (its 1 rule(s) for some clients" in plan.description  # and the plan says so
    assert "clients: x-user-id=john" in plan.model_diff
    Change(connector).apply(plan)
    assert kept(connector.get_route("http-ratelimit-specific-user-0").limit_rules) == kept(route.limit_rules)

    selector_only = connector.get_route("http-ratelimit-invert-match-0")
    assert selector_only.rate_limit is None
    assert [r.clients for r in selector_only.limit_rules] == ["x-user-id=one, !x-org-id=test"]


EG_POLICIES = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: eg}
spec:
  gatewayClassName: eg
  listeners:
  - {name: http, protocol: HTTP, port: 80}
  - {name: api, protocol: HTTP, port: 8080, hostname: "*.example.com"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: eg, sectionName: api}]
  hostnames: [shop.example.com, shop.example.org]
  rules:
  - backendRefs:
    - name: web
      port: 8080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: x-canary, value: "yes"}]}
    - {name: web-v2, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: plain}
spec:
  parentRefs: [{name: eg, sectionName: http}]
  rules:
  - backendRefs: [{name: web, port: 8080}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: api-listener}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: eg, sectionName: api}]
  faultInjection:
    delay: {fixedDelay: 2s, percentage: 50}
    abort: {httpStatus: 500, percentage: 2.5}
  retry:
    numRetries: 5
    retryOn: {httpStatusCodes: [503]}
    perRetry: {timeout: 250ms, backOff: {baseInterval: 100ms, maxInterval: 10s}}
  rateLimit:
    type: Global
    global:
      rules:
      - clientSelectors:
        - headers: [{name: x-user-id, type: Distinct}]
        limit: {requests: 3, unit: Hour}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: shop-authz}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}]
  cors:
    allowOrigins: ["https://*.bar.com", "https://www.foo.com"]
  authorization:
    defaultAction: Deny
    rules:
    - name: admins
      action: Allow
      principal:
        clientCIDRs: [10.0.0.0/8]
        jwt:
          provider: example
          claims: [{name: role, values: [admin]}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: api-clients}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: eg, sectionName: api}]
  headers: {disableRateLimitHeaders: true}
"""


@pytest.fixture(name="eg")
def eg_fixture(kube_emulator: KubeEmulator) -> KubeEmulator:
    kube_emulator.load_manifests(EG_POLICIES)
    return kube_emulator


def test_envoy_gateway_policy_details_are_read_as_written(eg: KubeEmulator, connect: Connect) -> None:
    connector = connect()
    route = connector.get_route("shop-0")
    assert route.fault == Fault(delay=2.0, delay_percent=50.0, abort_status=500, abort_percent=2.5)
    assert route.retries == Retries(
        attempts=5, per_try_timeout=0.25, retry_on=(), codes=(503,), backoff=0.1, max_backoff=10.0
    )
    assert route.rate_limit is None
    (rule,) = route.limit_rules
    assert (rule.kind, rule.requests, rule.interval, rule.clients) == (
        "global",
        3,
        3600.0,
        "each x-user-id value",
    )
    assert "rate-limit service" in rule.why_readonly
    assert route.authorization == Authorization(
        "Deny",
        (AuthzRule("admins", "Allow", ("from 10.0.0.0/8", "jwt of example; role in admin")),),
        "SecurityPolicy default/shop-authz",
    )
    assert route.backend_filters == (BackendFilter("web:8080", "RequestHeaderModifier", "set x-canary=yes"),)
    assert route.cors is not None
    assert route.cors.allow_origins == (
        StringMatch("wildcard", "https://*.bar.com"),
        StringMatch("exact", "https://www.foo.com"),
    )
    assert route_to_dict(route)["cors"]["allow_origins"][0] == {"wildcard": "https://*.bar.com"}
    with pytest.raises(ValidationError, match="global rate limit"):
        connector.plan([set_rate_limit(route, RateLimit(5, 1.0))])


def test_route_hosts_are_intersected_with_the_parent_listener(eg: KubeEmulator, connect: Connect) -> None:
    routes = {r.name: r for r in connect().list_routes()}
    assert routes["shop-0"].hosts == ("shop.example.com",)  # .org is not under the api listener
    assert routes["plain-0"].hosts == ("*",)


def test_a_listener_policy_reaches_only_routes_through_that_listener(
    eg: KubeEmulator, connect: Connect
) -> None:
    connector = connect()
    plain = connector.get_route("plain-0")
    assert plain.fault is None and plain.retries is None and plain.limit_rules == ()
    assert "api-clients" in connector.native_objects("shop-0")
    assert "api-clients" not in connector.native_objects("plain-0")


OTHER_NAMESPACE = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: infra}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80, hostname: "*.shop.example"}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: shared-limit, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: shared}]
  rateLimit:
    type: Local
    local: {rules: [{limit: {requests: 40, unit: Second}}]}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: cart-elsewhere, namespace: infra}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: cart}]
  rateLimit:
    type: Local
    local: {rules: [{limit: {requests: 1, unit: Second}}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart}
spec:
  parentRefs: [{name: shared, namespace: infra}]
  rules:
  - backendRefs: [{name: cart, port: 8080}]
"""


def test_a_gateway_policy_of_another_namespace_applies_and_a_route_policy_there_does_not(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.create_namespace("infra")
    kube_emulator.load_manifests(OTHER_NAMESPACE)
    connector = connect()
    route = connector.get_route("cart-0")
    assert route.rate_limit == RateLimit(40, 1.0)  # infra/cart-elsewhere names an HTTPRoute of infra
    assert route.hosts == ("*.shop.example",)
    # The shared Gateway policy is never edited: a rule-scoped policy next to the route is created.
    plan = connector.plan([set_rate_limit(route, RateLimit(10, 1.0))])
    assert [c.label for c in plan.native_changes] == ["BackendTrafficPolicy default/cart-ratelimit"]


# -- wording -----------------------------------------------------------------------------------------


def test_plans_list_only_the_weights_that_change_and_undo_says_what_it_does(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-50-v3.yaml")
    kube_emulator.load_manifests(
        """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: three}
spec:
  hosts: [three]
  http:
  - route:
    - {destination: {host: three, subset: a}, weight: 80}
    - {destination: {host: three, subset: b}, weight: 10}
    - {destination: {host: three, subset: c}, weight: 10}
"""
    )
    connector = connect()
    plan = connector.plan([set_weights(connector.get_route("three-0"), {"three/a": 70, "three/b": 20})])
    assert plan.description == "three-0: weights three/a 80→70, three/b 10→20"
    result = Change(connector).apply(plan)
    assert all(" createed" not in d and "patched" in d for d in result.verification.details[:1])
    undo = connector.plan_undo()
    assert (
        undo.description == f"undo of change {result.entry.id}: three-0: weights three/a 70→80, three/b 20→10"
    )


def test_a_conflict_on_an_unchanged_object_does_not_read_as_a_change_by_someone_else(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    connector.client.backoff = 0.01
    version = vs(kube_emulator, "reviews")["metadata"]["resourceVersion"]
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 50, "reviews/v2": 50})]
    )
    kube_emulator.fail_next(10, 409, method="PATCH", path_contains="virtualservices")
    with pytest.raises(ChangeConflict) as conflict:
        Change(connector).apply(plan)
    message = str(conflict.value)
    assert f"{version} → {version}" not in message
    assert f"unchanged since the plan (resourceVersion {version})" in message


def test_the_policies_view_shows_the_read_only_rules_with_why(eg: KubeEmulator, connect: Connect) -> None:
    from tui.route_rows import policy_settings

    shown = dict(policy_settings(connect().get_route("shop-0")))
    assert shown["fault"] == "delay 2s on 50%, abort 500 on 2.5%"
    assert shown["retries"] == "5 attempts, per try 250ms on 503, back-off 100ms..10s"
    assert shown["ratelimit(global)"].startswith("global 3/1h for each x-user-id value [BackendTrafficPolicy")
    assert "read-only: counted by the rate-limit service" in shown["ratelimit(global)"]
    assert shown["authz"] == "Allow admins: from 10.0.0.0/8; jwt of example; role in admin | otherwise Deny"
    assert shown["backend-filter"] == "web:8080: RequestHeaderModifier set x-canary=yes"


TWO_PARENTS = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec:
  gatewayClassName: eg
  listeners: [{name: web, protocol: HTTP, port: 80, hostname: www.example.com}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: partners}
spec:
  gatewayClassName: eg
  listeners:
  - {name: any, protocol: HTTP, port: 80, hostname: "*.partners.example"}
  - {name: other, protocol: HTTP, port: 81, hostname: other.example}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: catalog}
spec:
  parentRefs: [{name: public}, {name: partners, sectionName: any}]
  rules:
  - backendRefs: [{name: catalog, port: 8080}]
"""


def test_a_second_parent_adds_its_listener_hosts(kube_emulator: KubeEmulator, connect: Connect) -> None:
    kube_emulator.load_manifests(TWO_PARENTS)
    assert connect().get_route("catalog-0").hosts == ("www.example.com", "*.partners.example")
