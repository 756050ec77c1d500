"""RBAC refusals name exactly the objects and verbs a plan writes (checked after planning), on
manifests a tester wrote cold: the Istio gateway limit lives in EnvoyFilter istio-system/gw-local-rl."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.change import Change
from connectors.errors import PermissionDenied
from connectors.kube import open_cluster
from connectors.kube.connector import KubeConnector
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from tests.kube_cold_manifests import istio_cold_fixture  # noqa: F401 - fixtures
from tests.kube_emulator import KubeEmulator, Rule
from tests.test_kube_support import kube_state_fixture, writes  # noqa: F401 - fixtures

READ = Rule(verbs=("get", "list", "watch"))
REVIEW = Rule(verbs=("create",), api_groups=("authorization.k8s.io", "authentication.k8s.io"))
SHOP_WRITES = Rule(
    verbs=("patch", "update", "create", "delete"),
    api_groups=("networking.istio.io",),
    resources=("virtualservices", "envoyfilters"),
    namespaces=("shop",),
)


@pytest.fixture(name="as_user")
def as_user_fixture(istio_cold: KubeEmulator, tmp_path: Path, kube_state: Path) -> object:
    istio_cold.add_user("efshop", token="efshop-token", rules=(READ, REVIEW, SHOP_WRITES))
    istio_cold.add_user("viewer", token="viewer-token", rules=(READ, REVIEW))
    config = istio_cold.write_kubeconfig(tmp_path / "kubeconfig", users=("admin", "efshop", "viewer"))

    def connect(context: str) -> KubeConnector:
        connector = open_cluster(context, "shop", kubeconfig=str(config), verify_wait=0.2)
        assert isinstance(connector, KubeConnector)
        return connector

    return connect


def test_a_refusal_names_the_object_the_plan_writes(istio_cold: KubeEmulator, as_user: object) -> None:
    connector = as_user("emulator-efshop")  # type: ignore[operator]
    route = connector.get_route("api")
    assert Change(connector).connector.capabilities().can("rate_limit")  # it may write some of it
    plan = connector.plan([set_rate_limit(route, RateLimit(3, 1.0))])
    note = next(w for w in plan.warnings if "cannot be applied with these rights" in w)
    assert "cannot patch envoyfilters.networking.istio.io istio-system/gw-local-rl" in note
    istio_cold.reset_log()
    with pytest.raises(PermissionDenied) as refused:
        Change(connector).apply(plan)
    assert "cannot patch envoyfilters.networking.istio.io istio-system/gw-local-rl" in str(refused.value)
    assert "namespace shop" not in str(refused.value)
    assert writes(istio_cold) == []
    connector.close()


def test_a_dry_run_of_a_read_only_user_says_it_cannot_be_applied(as_user: object) -> None:
    connector = as_user("emulator-viewer")  # type: ignore[operator]
    plan = connector.plan([set_rate_limit(connector.get_route("api"), RateLimit(3, 1.0))])
    assert any(
        "cannot be applied with these rights" in w and "istio-system/gw-local-rl" in w for w in plan.warnings
    ), plan.warnings
    connector.close()
