"""Denying a client on a Kubernetes route, on the API emulator: Istio writes an AuthorizationPolicy
``action: DENY`` at the route's Gateway, Envoy Gateway SecurityPolicy authorization rules. Objects
are schema-valid and minimal, read back as the route's deny, and undo puts every spec back exactly."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.kube.connector import KubeConnector
from connectors.kube.objects import for_apply
from connectors.model import Deny, DenyClient, Route
from tests.kube_emulator import KubeEmulator, validate_manifest
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
    writes,
)

EG = "gateway.envoyproxy.io"
EG_NS = "gateway-conformance-infra"
CRAWLER = DenyClient("header", "crawler-7", "x-user-id")
RANGE = DenyClient("ip", "203.0.113.0/24")
SHOP = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop}
spec:
  hosts: [shop.example]
  gateways: [shop-gateway]
  http:
  - name: api
    match:
    - uri: {prefix: /api}
    route:
    - destination: {host: api}
  - name: web
    route:
    - destination: {host: web}
"""


def assert_valid(manifest: dict[str, Any]) -> None:
    assert validate_manifest(for_apply(manifest)) == []


def deny(connector: KubeConnector, route: str, *clients: DenyClient, status: int = 403) -> Route:
    before = connector.get_route(route)
    return replace(before, deny=Deny(tuple(clients), status) if clients else None)


def apply(connector: KubeConnector, edited: Route) -> None:
    change = Change(connector)
    result = change.apply(change.plan_edit("deny", connector.get_route(edited.name), edited))
    assert result.verification.ok, result.verification.details


def specs(emu: KubeEmulator) -> dict[tuple[str, str, str], Any]:
    """Every stored object's spec (and labels) by (plural, namespace, name)."""
    out = {}
    for kind in ("VirtualService", "AuthorizationPolicy", "HTTPRoute", "SecurityPolicy"):
        for o in emu.objects(kind):
            meta = o["metadata"]
            out[(kind, meta.get("namespace", ""), meta["name"])] = (o.get("spec"), meta.get("labels"))
    return out


def ap(emu: KubeEmulator, name: str) -> Any:
    return emu.get_object("security.istio.io", "v1", "authorizationpolicies", "istio-system", name)


def test_istio_deny_is_an_authorization_policy_at_the_gateway_undone_exactly(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(SHOP)
    connector = connect()
    start = specs(kube_emulator)
    assert connector.capabilities().can("deny")

    apply(connector, deny(connector, "api", CRAWLER, RANGE))
    policy = ap(kube_emulator, "gatewayctl-deny-default-api")
    assert policy is not None
    assert_valid(policy)
    to = [{"operation": {"hosts": ["shop.example", "shop.example:*"], "paths": ["/api*"]}}]
    assert policy["spec"] == {
        "selector": {"matchLabels": {"istio": "ingressgateway"}},
        "action": "DENY",
        "rules": [
            {"to": to, "when": [{"key": "request.headers[x-user-id]", "values": ["crawler-7"]}]},
            {"from": [{"source": {"remoteIpBlocks": ["203.0.113.0/24"]}}], "to": to},
        ],
    }
    assert connector.get_route("api").deny == Deny((CRAWLER, RANGE))
    assert connector.get_route("web").deny is None, "the other route of the host is not denied"
    assert "name: gatewayctl-deny-default-api" in connector.native_objects("api")

    # Lifting one client is a patch of that policy alone.
    kube_emulator.reset_log()
    apply(connector, deny(connector, "api", RANGE))
    assert [(w.method, w.path.rsplit("/", 1)[-1]) for w in writes(kube_emulator)] == [
        ("PATCH", "gatewayctl-deny-default-api")
    ]
    assert connector.get_route("api").deny == Deny((RANGE,))

    change = Change(connector)
    change.apply(change.plan_undo())
    change.apply(Change(connector).plan_undo())
    assert specs(kube_emulator) == start, "undo leaves every object as it was, the policy gone"
    assert connector.get_route("api").deny is None


def test_istio_deny_refuses_what_it_cannot_say(kube_emulator: KubeEmulator, connect: Connect) -> None:
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(SHOP)
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")  # a mesh route
    connector = connect()
    kube_emulator.reset_log()
    with pytest.raises(ValidationError, match=r"routes\.api\.deny\.status: Istio's AuthorizationPolicy"):
        connector.plan([deny(connector, "api", CRAWLER, status=429)])
    with pytest.raises(ValidationError, match="a mesh route"):
        connector.plan([deny(connector, "reviews-0", CRAWLER)])
    with pytest.raises(ValidationError, match=r"routes\.api\.deny\.clients\[0\]: .* is not a valid header"):
        connector.plan([deny(connector, "api", DenyClient("header", "v", "bad header"))])
    assert writes(kube_emulator) == []


def test_envoy_gateway_deny_is_a_security_policy_rule_undone_exactly(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/cors-security-policy.yaml", namespace=EG_NS)
    connector = connect(namespace=EG_NS)
    start = specs(kube_emulator)
    assert connector.capabilities().can("deny")

    apply(connector, deny(connector, "http-with-cors-exact-0", CRAWLER, RANGE))
    policy = kube_emulator.get_object(EG, "v1alpha1", "securitypolicies", EG_NS, "cors-exact")
    assert policy is not None
    assert_valid(policy)
    assert policy["spec"]["authorization"] == {
        "defaultAction": "Allow",
        "rules": [
            {
                "name": "gatewayctl-deny x-user-id=crawler-7",
                "action": "Deny",
                "principal": {"headers": [{"name": "x-user-id", "values": ["crawler-7"]}]},
            },
            {
                "name": "gatewayctl-deny ip=203.0.113.0/24",
                "action": "Deny",
                "principal": {"clientCIDRs": ["203.0.113.0/24"]},
            },
        ],
    }
    assert policy["spec"]["cors"] == start[("SecurityPolicy", EG_NS, "cors-exact")][0]["cors"]
    route = connector.get_route("http-with-cors-exact-0")
    assert route.deny == Deny((CRAWLER, RANGE))
    assert route.authorization is None, "the deny rules show as the deny, not as other rules"

    with pytest.raises(ValidationError, match="refuses with 403 only"):
        connector.plan([replace(route, deny=Deny((CRAWLER,), 429))])
    Change(connector).apply(Change(connector).plan_undo())
    assert specs(kube_emulator) == start


def test_envoy_gateway_deny_on_a_route_without_policy_creates_one_for_the_rule(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/http-routing.yaml", namespace="default")
    connector = connect(flavour="envoygateway")
    start = specs(kube_emulator)
    name = connector.list_routes()[0].name
    apply(connector, deny(connector, name, CRAWLER))
    created = kube_emulator.objects("SecurityPolicy")
    assert len(created) == 1
    assert_valid(created[0])
    spec = created[0]["spec"]
    assert spec["targetRefs"][0]["kind"] == "HTTPRoute"
    assert spec["authorization"]["defaultAction"] == "Allow"
    assert set(spec) == {"targetRefs", "authorization"}, "nothing but the target and the deny"
    # Lifting the last client removes what the deny added, even without the undo journal.
    apply(connector, deny(connector, name))
    assert specs(kube_emulator) == start
