"""Rate-limit edits on manifests a tester wrote cold: a burst equal to the requests is no burst, and a
burst that truly cannot be written is refused naming ``rate_limit.burst`` and the object kind that
holds limits."""

from __future__ import annotations

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from tests.kube_cold_manifests import eg_cold_fixture, istio_cold_fixture  # noqa: F401 - fixtures
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    envoy_filter,
    kube_state_fixture,
    obj,
)


def test_istio_burst_equal_to_requests_is_no_burst(istio_cold: KubeEmulator, connect: Connect) -> None:
    connector = connect(namespace="shop")
    route = connector.get_route("api")
    Change(connector).apply(connector.plan([set_rate_limit(route, RateLimit(5, 1.0, burst=5))]))
    assert connector.get_route("api").rate_limit == RateLimit(5, 1.0)
    patch = envoy_filter(istio_cold, "gw-local-rl", "istio-system")["spec"]["configPatches"][1]
    bucket = patch["patch"]["value"]["typed_per_filter_config"]["envoy.filters.http.local_ratelimit"]
    assert bucket["value"]["token_bucket"] == {"max_tokens": 5, "tokens_per_fill": 5, "fill_interval": "1s"}


def test_envoy_gateway_burst_equal_to_requests_is_no_burst(eg_cold: KubeEmulator, connect: Connect) -> None:
    connector = connect(namespace="store")
    route = connector.get_route("checkout")
    plan = connector.plan([set_rate_limit(route, RateLimit(5, 1.0, burst=5))])
    Change(connector).apply(plan)
    assert connector.get_route("checkout").rate_limit == RateLimit(5, 1.0)


def test_envoy_gateway_refuses_a_real_burst_naming_the_field_and_the_policy_kind(
    eg_cold: KubeEmulator, connect: Connect
) -> None:
    connector = connect(namespace="store")
    route = connector.get_route("checkout")
    with pytest.raises(ValidationError) as refused:
        connector.plan([set_rate_limit(route, RateLimit(5, 1.0, burst=7))])
    (problem,) = refused.value.problems
    assert problem.path == "routes.checkout.rate_limit.burst"
    assert "BackendTrafficPolicy" in problem.message
    assert "HTTPRoute" not in problem.message
