"""Envoy Gateway and plain Gateway API connectors against the Kubernetes API emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.kube import open_cluster
from connectors.kube.objects import for_apply
from connectors.model import Cors, RateLimit, StringMatch
from connectors.model.edits import set_cors, set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator, validate_manifest
from tests.test_kube_support import (  # noqa: F401 - fixtures
    VERIFY_WAIT_S,
    Connect,
    connect_fixture,
    http_route,
    kube_state_fixture,
    load,
    obj,
    writes,
)

EG = "gateway.envoyproxy.io"
NS = "gateway-conformance-infra"


def assert_valid(manifest: dict[str, Any]) -> None:
    assert validate_manifest(for_apply(manifest)) == []


def policy(emu: KubeEmulator, plural: str, name: str, namespace: str = NS) -> Any:
    return emu.get_object(EG, "v1alpha1", plural, namespace, name)


# example file → namespace it lives in → route name → (weights, rate limit, CORS origins)
EXAMPLES: dict[
    str, tuple[str, dict[str, tuple[dict[str, int], RateLimit | None, tuple[str, ...] | None]]]
] = {
    "envoy-gateway/weighted-backend-all-equal.yaml": (
        NS,
        {"weight-equal-http-route-0": ({"infra-backend-v1:8080": 1, "infra-backend-v2:8080": 1}, None, None)},
    ),
    "envoy-gateway/weighted-backend-bluegreen.yaml": (
        NS,
        {
            "weight-bluegreen-http-route-0": (
                {"infra-backend-v1:8080": 9, "infra-backend-v2:8080": 1},
                None,
                None,
            )
        },
    ),
    "envoy-gateway/weighted-backend-completing-rollout.yaml": (
        NS,
        {
            "weight-complete-rollout-http-route-0": (
                {"infra-backend-v1:8080": 10, "infra-backend-v2:8080": 0},
                None,
                None,
            )
        },
    ),
    "envoy-gateway/quickstart.yaml": ("default", {"backend-0": ({"backend:3000": 1}, None, None)}),
    "envoy-gateway/http-routing.yaml": (
        "default",
        {
            "example-route-0": ({"example-svc:8080": 1}, None, None),
            "foo-route-0": ({"foo-svc:8080": 1}, None, None),
            "bar-route-0": ({"bar-canary-svc:8080": 1}, None, None),
            "bar-route-1": ({"bar-svc:8080": 1}, None, None),
        },
    ),
    "envoy-gateway/jwt.yaml": (
        "default",
        {"foo-0": ({"backend:3000": 1}, None, None), "bar-0": ({"backend:3000": 1}, None, None)},
    ),
    "envoy-gateway/cors-security-policy.yaml": (
        NS,
        {
            "http-with-cors-exact-0": (
                {"infra-backend-v1:8080": 1},
                None,
                ("https://www.foo.com", "https://www.bar.com", "https://*.foobar.com"),
            ),
            "http-with-cors-wildcard-0": ({"infra-backend-v1:8080": 1}, None, ("*",)),
        },
    ),
    "envoy-gateway/local-ratelimit.yaml": (
        NS,
        {
            # the rule without clientSelectors is the route's limit; selector-only policies limit some clients
            "http-ratelimit-specific-user-0": ({"infra-backend-v1:8080": 1}, RateLimit(10, 3600.0), None),
            "http-ratelimit-all-traffic-0": ({"infra-backend-v1:8080": 1}, RateLimit(3, 3600.0), None),
            "http-no-ratelimit-0": ({"infra-backend-v1:8080": 1}, None, None),
            "http-ratelimit-invert-match-0": ({"infra-backend-v1:8080": 1}, None, None),
            "http-ratelimit-path-match-0": ({"infra-backend-v1:8080": 1}, None, None),
            "http-ratelimit-method-match-0": ({"infra-backend-v1:8080": 1}, None, None),
            "http-ratelimit-shadow-mode-0": ({"infra-backend-v1:8080": 1}, None, None),
        },
    ),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_envoy_gateway_examples_read_as_routes_and_write_back_unchanged(
    example: str, kube_emulator: KubeEmulator, connect: Connect
) -> None:
    namespace, expected = EXAMPLES[example]
    load(kube_emulator, example, namespace=namespace)
    connector = connect(namespace=namespace)
    assert connector.kind == "envoygateway"
    routes = connector.list_routes()
    seen = {
        r.name: (
            {b.name: b.weight for b in r.backends},
            r.rate_limit,
            tuple(o.value for o in r.cors.allow_origins) if r.cors else None,
        )
        for r in routes
    }
    assert seen == expected
    assert all(r.weight_mode == "relative" for r in routes)

    kube_emulator.reset_log()
    plan = connector.plan(routes)
    assert plan.is_empty and plan.native_changes == ()
    Change(connector).apply(plan)
    assert writes(kube_emulator) == []


def test_jwt_security_policy_with_the_old_target_ref_applies_to_its_route(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/jwt.yaml")
    routes = {r.name: r for r in connect().list_routes()}
    jwt = routes["foo-0"].jwt
    assert jwt is not None and jwt.required
    assert [(p.name, p.jwks_uri) for p in jwt.providers] == [
        (
            "example",
            "https://raw.githubusercontent.com/envoyproxy/gateway/main/examples/kubernetes/jwt/jwks.json",
        )
    ]
    assert routes["bar-0"].jwt is None
    assert routes["foo-0"].hosts == ("www.example.com",)


def test_http_routing_example_matches(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "envoy-gateway/http-routing.yaml")
    routes = {r.name: r for r in connect().list_routes()}
    assert str(routes["foo-route-0"].matches[0]) == "/login*"
    assert str(routes["bar-route-0"].matches[0]) == "/* [env=canary]"
    assert routes["bar-route-1"].hosts == ("bar.example.com",)
    assert routes["example-route-0"].listener == "example-gateway"


def test_relative_weight_edit_patches_only_the_weights(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=NS)
    before = http_route(kube_emulator, "weight-bluegreen-http-route", NS)
    connector = connect(namespace=NS)
    route = connector.get_route("weight-bluegreen-http-route-0")
    kube_emulator.reset_log()
    result = Change(connector).apply(
        connector.plan([set_weights(route, {"infra-backend-v1:8080": 1, "infra-backend-v2:8080": 9})])
    )
    assert result.verification.ok
    (patch,) = writes(kube_emulator)
    assert [o["path"] for o in json.loads(patch.body)] == [
        "/metadata/resourceVersion",
        "/spec/rules/0/backendRefs/0/weight",
        "/spec/rules/0/backendRefs/1/weight",
    ]
    after = http_route(kube_emulator, "weight-bluegreen-http-route", NS)
    assert [b["weight"] for b in after["spec"]["rules"][0]["backendRefs"]] == [1, 9]
    assert {k: v for k, v in after["spec"].items() if k != "rules"} == {
        k: v for k, v in before["spec"].items() if k != "rules"
    }
    assert_valid(after)


def test_rate_limit_creates_a_backend_traffic_policy_with_type_and_local(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/local-ratelimit.yaml", namespace=NS)
    connector = connect(namespace=NS)
    result = Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("http-no-ratelimit-0"), RateLimit(50, 60.0))])
    )
    assert result.verification.ok
    created = policy(kube_emulator, "backendtrafficpolicies", "http-no-ratelimit-ratelimit")
    assert created is not None
    assert_valid(created)
    assert created["spec"] == {
        "targetRefs": [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "http-no-ratelimit"}
        ],
        "rateLimit": {"type": "Local", "local": {"rules": [{"limit": {"requests": 50, "unit": "Minute"}}]}},
    }
    assert connector.get_route("http-no-ratelimit-0").rate_limit == RateLimit(50, 60.0)


def test_rate_limit_edit_keeps_client_selector_rules(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "envoy-gateway/local-ratelimit.yaml", namespace=NS)
    connector = connect(namespace=NS)
    route = connector.get_route("http-ratelimit-specific-user-0")
    Change(connector).apply(connector.plan([set_rate_limit(route, RateLimit(20, 1.0))]))
    stored = policy(kube_emulator, "backendtrafficpolicies", "ratelimit-specific-user")
    assert_valid(stored)
    assert stored["spec"]["rateLimit"]["local"]["rules"] == [
        {"limit": {"requests": 20, "unit": "Second"}},
        {
            "clientSelectors": [
                {"headers": [{"name": "x-user-id", "value": "john", "type": "Exact", "invert": False}]}
            ],
            "limit": {"requests": 3, "unit": "Hour"},
        },
    ]
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("http-ratelimit-specific-user-0"), None)])
    )
    rules = policy(kube_emulator, "backendtrafficpolicies", "ratelimit-specific-user")["spec"]["rateLimit"][
        "local"
    ]["rules"]
    assert [r.get("clientSelectors") is not None for r in rules] == [True]
    assert connector.get_route("http-ratelimit-specific-user-0").rate_limit is None


def test_a_local_limit_cannot_be_switched_off_on_envoy_gateway_and_shadow_mode_reads_enforced(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    """Envoy Gateway honours shadowMode on Global limits only: writing it to switch a local limit off
    would leave the limit enforced while the console said "off"."""
    load(kube_emulator, "envoy-gateway/local-ratelimit.yaml", namespace=NS)
    connector = connect(namespace=NS)
    name = "http-ratelimit-specific-user-0"
    before = policy(kube_emulator, "backendtrafficpolicies", "ratelimit-specific-user")
    with pytest.raises(ValidationError) as refused:
        connector.plan([set_rate_limit(connector.get_route(name), RateLimit(20, 1.0, enabled=False))])
    assert any(p.path.endswith("rate_limit.enabled") for p in refused.value.problems)
    assert policy(kube_emulator, "backendtrafficpolicies", "ratelimit-specific-user") == before
    # A rule someone wrote with shadowMode on a local limit is enforced, and shown so.
    stored = policy(kube_emulator, "backendtrafficpolicies", "ratelimit-specific-user")
    stored["spec"]["rateLimit"]["local"]["rules"][0] = {
        "limit": {"requests": 7, "unit": "Second"},
        "shadowMode": True,
    }
    kube_emulator.put_object(stored, namespace=NS)
    shown = connect(namespace=NS).get_route(name).rate_limit
    assert shown is not None and shown.enabled and not shown.shadow and shown.requests == 7


def test_rate_limit_on_one_rule_of_a_multi_rule_route_targets_that_section(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/http-routing.yaml")
    connector = connect()
    plan = connector.plan([set_rate_limit(connector.get_route("bar-route-1"), RateLimit(7, 1.0))])
    assert [c.label for c in plan.native_changes] == [
        "HTTPRoute default/bar-route",
        "BackendTrafficPolicy default/bar-route-bar-route-1-ratelimit",
    ]
    Change(connector).apply(plan)
    route = http_route(kube_emulator, "bar-route")
    assert route["spec"]["rules"][1]["name"] == "bar-route-1" and "name" not in route["spec"]["rules"][0]
    created = policy(kube_emulator, "backendtrafficpolicies", "bar-route-bar-route-1-ratelimit", "default")
    assert created["spec"]["targetRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "HTTPRoute",
            "name": "bar-route",
            "sectionName": "bar-route-1",
        }
    ]
    assert_valid(route)
    assert_valid(created)
    routes = {r.name: r for r in connector.list_routes()}
    assert routes["bar-route-1"].rate_limit == RateLimit(7, 1.0)
    assert routes["bar-route-0"].rate_limit is None


def test_intervals_without_an_envoy_gateway_unit_are_refused(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    connector = connect()
    with pytest.raises(ValidationError, match="per Second, Minute, Hour") as err:
        connector.plan([set_rate_limit(connector.get_route("backend-0"), RateLimit(10, 2.0, burst=20))])
    assert {p.path for p in err.value.problems} == {
        "routes.backend-0.rate_limit.interval",
        "routes.backend-0.rate_limit.burst",
    }


def test_cors_edits_go_to_the_security_policy(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "envoy-gateway/cors-security-policy.yaml", namespace=NS)
    connector = connect(namespace=NS)
    route = connector.get_route("http-with-cors-exact-0")
    assert route.cors is not None and route.cors.allow_headers == ("x-header-1", "x-header-2")
    cors = replace(
        route.cors, allow_origins=(StringMatch("exact", "https://app.example.com"),), max_age=600.0
    )
    kube_emulator.reset_log()
    Change(connector).apply(connector.plan([set_cors(route, cors)]))
    (patch,) = writes(kube_emulator)
    assert "/securitypolicies/cors-exact" in patch.path
    stored = policy(kube_emulator, "securitypolicies", "cors-exact")
    assert_valid(stored)
    assert stored["spec"]["cors"]["allowOrigins"] == ["https://app.example.com"]
    assert stored["spec"]["cors"]["maxAge"] == "10m"
    assert stored["spec"]["cors"]["exposeHeaders"] == ["x-header-3", "x-header-4"]
    assert connector.get_route("http-with-cors-exact-0").cors == cors

    with pytest.raises(ValidationError, match="not prefix matches"):
        connector.plan([set_cors(route, replace(cors, allow_origins=(StringMatch("prefix", "https://"),)))])


def test_new_cors_on_envoy_gateway_creates_a_security_policy(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    connector = connect()
    cors = Cors(allow_origins=(StringMatch("exact", "https://*.example.com"),), allow_methods=("GET",))
    Change(connector).apply(connector.plan([set_cors(connector.get_route("backend-0"), cors)]))
    created = policy(kube_emulator, "securitypolicies", "backend-cors", "default")
    assert created is not None
    assert_valid(created)
    assert created["spec"]["cors"] == {"allowOrigins": ["https://*.example.com"], "allowMethods": ["GET"]}
    assert connector.get_route("backend-0").cors == cors
    Change(connector).apply(connector.plan([set_cors(connector.get_route("backend-0"), None)]))
    assert policy(kube_emulator, "securitypolicies", "backend-cors", "default") is None


def test_policy_status_conditions_show_in_native_objects_and_verification(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/local-ratelimit.yaml", namespace=NS)
    stored = policy(kube_emulator, "backendtrafficpolicies", "ratelimit-all-traffic")
    stored["status"] = {
        "ancestors": [
            {
                "ancestorRef": {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": "same-namespace",
                },
                "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "True",
                        "reason": "Accepted",
                        "message": "Policy has been accepted.",
                        "observedGeneration": 1,
                        "lastTransitionTime": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        ]
    }
    kube_emulator.put_object(stored)
    connector = connect(namespace=NS)
    assert "Policy has been accepted." in connector.native_objects("http-ratelimit-all-traffic-0")
    result = Change(connector).apply(
        connector.plan(
            [set_rate_limit(connector.get_route("http-ratelimit-all-traffic-0"), RateLimit(4, 3600.0))]
        )
    )
    details = "\n".join(result.verification.details)
    assert "BackendTrafficPolicy gateway-conformance-infra/ratelimit-all-traffic: patched" in details
    # No controller runs here: generation 2 gets no report, the last one is shown as not yet on it.
    assert result.verification.ok
    label = "BackendTrafficPolicy gateway-conformance-infra/ratelimit-all-traffic"
    assert f"{label}: no controller has reported on generation 2 yet" in details
    assert (
        f"{label}: last report (ancestor Gateway same-namespace, generation 1, not yet on this change): "
        "Accepted=True (Accepted)" in details
    )


def test_plain_gateway_api_edits_weights_and_the_cors_filter_but_not_rate_limits(
    kube_emulator_factory: Callable[..., KubeEmulator], tmp_path: Path, kube_state: Path
) -> None:
    emu = kube_emulator_factory(crds=("gateway-api",))
    load(emu, "envoy-gateway/weighted-backend-all-equal.yaml", namespace=NS)
    kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
    connector = open_cluster(namespace=NS, kubeconfig=str(kubeconfig), verify_wait=VERIFY_WAIT_S)
    try:
        assert connector.kind == "gatewayapi"
        caps = connector.capabilities()
        assert caps.can("weights") and caps.can("cors") and not caps.can("rate_limit")
        assert "no rate-limit field" in caps.why_not("rate_limit")
        route = connector.get_route("weight-equal-http-route-0")
        with pytest.raises(ValidationError, match="no rate-limit field"):
            connector.plan([set_rate_limit(route, RateLimit(1, 1.0))])

        cors = Cors(
            allow_origins=(StringMatch("exact", "https://a.example.com"),), allow_methods=("GET",), max_age=60
        )
        edited = set_cors(set_weights(route, {"infra-backend-v1:8080": 3}), cors)
        Change(connector).apply(connector.plan([edited]))
        rule = obj(emu, "gateway.networking.k8s.io", "v1", "httproutes", "weight-equal-http-route", NS)[
            "spec"
        ]["rules"][0]
        assert [b["weight"] for b in rule["backendRefs"]] == [3, 1]
        assert rule["filters"] == [
            {
                "type": "CORS",
                "cors": {"allowOrigins": ["https://a.example.com"], "allowMethods": ["GET"], "maxAge": 60},
            }
        ]
        assert_valid(obj(emu, "gateway.networking.k8s.io", "v1", "httproutes", "weight-equal-http-route", NS))
        assert connector.get_route("weight-equal-http-route-0").cors == cors
    finally:
        connector.close()
