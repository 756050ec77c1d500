"""Envoy Gateway policies attached through one of a route's two parents, on manifests a tester wrote
cold: the route shows where the policy applies, and a CORS edit that would start applying through the
other parent is refused unless chosen (``--all-affected``)."""

from __future__ import annotations

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.model import Cors
from connectors.model.edits import set_cors
from tests.kube_cold_manifests import eg_cold_fixture  # noqa: F401 - fixtures
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    writes,
)


def test_a_listener_policy_shows_as_applying_through_that_parent_only(
    eg_cold: KubeEmulator, connect: Connect
) -> None:
    route = connect(namespace="store").get_route("checkout")
    assert route.cors is not None
    (scope,) = route.scopes
    assert scope.source == "SecurityPolicy store/public-cors"
    assert scope.policies == ("cors",)
    assert scope.through == ("Gateway store/gw-a listener public",)
    assert scope.not_through == ("Gateway store/gw-b",)
    assert "cors(via gw-a)" in route.policy_names()
    # One parent only: the policy applies to all of the route's traffic.
    assert connect(namespace="store").get_route("wide-0").scopes == ()


def test_a_cors_edit_reaching_another_parent_is_refused_unless_chosen(
    eg_cold: KubeEmulator, connect: Connect
) -> None:
    connector = connect(namespace="store")
    route = connector.get_route("checkout")
    wanted = Cors(allow_origins=route.cors.allow_origins, allow_methods=("GET",))  # type: ignore[union-attr]
    eg_cold.reset_log()
    with pytest.raises(ValidationError) as refused:
        connector.plan([set_cors(route, wanted)])
    message = str(refused.value)
    assert "Gateway store/gw-b" in message and "--all-affected" in message
    assert writes(eg_cold) == []

    connector.affect_shared = True
    plan = connector.plan([set_cors(route, wanted)])
    assert any("Gateway store/gw-b" in w for w in plan.warnings), plan.warnings
    Change(connector).apply(plan)
    after = connector.get_route("checkout")
    assert after.cors is not None and after.cors.allow_methods == ("GET",)
    assert after.scopes == ()  # the rule's own policy applies through both parents now
