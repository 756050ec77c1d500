"""What an Istio ingress gateway does, on manifests a tester wrote cold: a global rate limit shows only
on routes that send it descriptors, and route hosts are narrowed by the bound Gateway's servers."""

from __future__ import annotations

from tests.kube_cold_manifests import istio_cold_fixture  # noqa: F401 - fixtures
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
)


def test_a_global_limit_shows_only_where_descriptors_are_sent(
    istio_cold: KubeEmulator, connect: Connect
) -> None:
    shop = {r.name: r for r in connect(namespace="shop").list_routes()}
    other = {r.name: r for r in connect(namespace="other").list_routes()}
    # The ratelimit filter is on every gateway listener, but only other.example.com's virtual host
    # has rate_limits: Envoy calls the service for its routes alone.
    (rule,) = [r for r in other["main"].limit_rules if r.kind == "global"]
    assert rule.clients == "descriptors request_headers PATH"
    assert "ratelimit(global)" in other["main"].policy_names()
    for route in (shop["api"], shop["web"], other["api"]):
        assert not [r for r in route.limit_rules if r.kind == "global"], route.name
        assert "ratelimit(global)" not in route.policy_names(), route.name


NARROWING = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: scoped, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http-a, protocol: HTTP}
    hosts: ["other/*.other.org", "shop/*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: both, namespace: other}
spec:
  hosts: [api.example.com, x.other.org, "*"]
  gateways: [istio-system/scoped, mesh]
  http:
  - route:
    - destination: {host: both}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: other}
spec:
  hosts: ["*"]
  gateways: [istio-system/scoped]
  http:
  - route:
    - destination: {host: wild}
"""


def test_gateway_routes_answer_only_the_hosts_their_gateway_serves(
    istio_cold: KubeEmulator, connect: Connect
) -> None:
    istio_cold.load_manifests(NARROWING)
    routes = {r.name: r for r in connect(namespace="other").list_routes()}
    # Gateway servers hosts *.example.com: x.other.org is not served through it.
    assert routes["api"].hosts == ("api.example.com",)
    assert routes["main"].hosts == ("other.example.com",)
    # "other/*.other.org" serves namespace other; "shop/*" does not; a "*" host takes the server's.
    assert routes["wild-0"].hosts == ("*.other.org",)
    # Bound to the mesh too: the sidecars answer every host the VirtualService names.
    assert routes["both-0"].hosts == ("api.example.com", "x.other.org", "*")
    assert connect(namespace="shop").get_route("api").hosts == ("shop.example.com",)
