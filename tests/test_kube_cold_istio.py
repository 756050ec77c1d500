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
