"""Fault injection written on Kubernetes gateways: Istio ``http[].fault`` in the VirtualService, Envoy
Gateway ``faultInjection`` in the rule's own BackendTrafficPolicy (a copy when the governing one is
shared); only the parts whose meaning changes are rewritten, undo leaves every object as it was, and
a gateway that cannot hold a fault says why."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.kube import open_cluster
from connectors.kube.connector import KubeConnector
from connectors.model import Fault
from connectors.model.edits import set_fault
from connectors.model.fault import edited_fault
from tests.kube_emulator import KubeEmulator, validate_manifest
from tests.test_cli_kube import istio, run  # noqa: F401 - fixture
from tests.test_kube_support import (  # noqa: F401 - fixtures
    VERIFY_WAIT_S,
    Connect,
    connect_fixture,
    http_route,
    kube_state_fixture,
    load,
    obj,
    vs,
)
from tests.test_kube_undo import snapshot

FAULT = Fault(delay=0.2, delay_percent=10.0, abort_status=503, abort_percent=5.0)

OLD_SPELLING = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - fault:
      delay: {percent: 10, fixedDelay: 5s}
    route:
    - destination: {host: ratings, subset: v1}
"""


def test_istio_fault_is_written_in_the_virtual_service_and_undone_exactly(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    before = snapshot(kube_emulator)
    connector = connect()
    plan = connector.plan([set_fault(connector.get_route("reviews-0"), FAULT)])
    assert plan.description == "reviews-0: fault none→delay 200ms on 10%, abort 503 on 5%"
    assert [c.label for c in plan.native_changes] == ["VirtualService default/reviews"]
    Change(connector).apply(plan)
    written = vs(kube_emulator, "reviews")
    assert written["spec"]["http"][0]["fault"] == {
        "delay": {"fixedDelay": "200ms", "percentage": {"value": 10}},
        "abort": {"httpStatus": 503, "percentage": {"value": 5}},
    }
    assert validate_manifest(written) == []
    assert connector.get_route("reviews-0").fault == FAULT

    Change(connector).apply(connector.plan_undo())
    assert snapshot(kube_emulator) == before


def test_istio_edit_of_one_part_keeps_the_other_as_written(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.load_manifests(OLD_SPELLING)
    connector = connect()
    route = connector.get_route("ratings-0")
    assert route.fault == Fault(delay=5.0, delay_percent=10.0)
    edited = set_fault(route, edited_fault(route.fault, abort_status=503, abort_percent=1.5))
    Change(connector).apply(connector.plan([edited]))
    fault = vs(kube_emulator, "ratings")["spec"]["http"][0]["fault"]
    assert fault["delay"] == {"percent": 10, "fixedDelay": "5s"}, "the deprecated spelling stays"
    assert fault["abort"] == {"httpStatus": 503, "percentage": {"value": 1.5}}

    Change(connector).apply(connector.plan([set_fault(connector.get_route("ratings-0"), None)]))
    assert "fault" not in vs(kube_emulator, "ratings")["spec"]["http"][0]


SHARED_TRAFFIC_POLICY = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: eg}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /cart}}]
    backendRefs: [{name: cart, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 8080}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: eg-traffic}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: eg}]
  retry: {numRetries: 3}
  faultInjection:
    delay: {fixedDelay: 1s, percentage: 1}
"""


def test_envoy_gateway_fault_goes_into_a_copy_for_the_rule_and_undo_deletes_it(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.load_manifests(SHARED_TRAFFIC_POLICY)
    before = snapshot(kube_emulator)
    connector = connect()
    route = connector.get_route("shop-1")
    assert route.fault == Fault(delay=1.0, delay_percent=1.0)
    plan = connector.plan([set_fault(route, edited_fault(route.fault, abort_status=503, abort_percent=5))])
    assert [c.label for c in plan.native_changes] == [
        "HTTPRoute default/shop",
        "BackendTrafficPolicy default/shop-shop-1-fault",
    ]
    Change(connector).apply(plan)
    copy = obj(
        kube_emulator, "gateway.envoyproxy.io", "v1alpha1", "backendtrafficpolicies", "shop-shop-1-fault"
    )
    assert copy is not None and validate_manifest(copy) == []
    assert copy["spec"]["retry"] == {"numRetries": 3}, "the rule keeps its retries"
    assert copy["spec"]["faultInjection"] == {
        "delay": {"fixedDelay": "1s", "percentage": 1},
        "abort": {"httpStatus": 503, "percentage": 5},
    }
    assert connector.get_route("shop-0").fault == Fault(delay=1.0, delay_percent=1.0), "the other rule"

    Change(connector).apply(connector.plan_undo())
    assert snapshot(kube_emulator) == before


def test_envoy_gateway_fault_removed_from_its_own_policy_drops_the_field(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.load_manifests(
        SHARED_TRAFFIC_POLICY.replace("kind: Gateway, name: eg", "kind: HTTPRoute, name: shop")
    )
    connector = connect()
    Change(connector).apply(connector.plan([set_fault(connector.get_route("shop-0"), None)]))
    policy = obj(
        kube_emulator, "gateway.envoyproxy.io", "v1alpha1", "backendtrafficpolicies", "shop-shop-0-fault"
    )
    assert policy is not None and "faultInjection" not in policy["spec"]
    assert connector.get_route("shop-0").fault is None
    assert connector.get_route("shop-1").fault == Fault(delay=1.0, delay_percent=1.0)


def test_plain_gateway_api_says_it_cannot_inject_faults(
    kube_emulator_factory: Callable[..., KubeEmulator], tmp_path: Path, kube_state: Path
) -> None:
    emu = kube_emulator_factory(crds=("gateway-api",))
    emu.load_manifests(SHARED_TRAFFIC_POLICY.split("---")[0])
    kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
    connector = open_cluster(namespace="default", kubeconfig=str(kubeconfig), verify_wait=VERIFY_WAIT_S)
    try:
        assert isinstance(connector, KubeConnector) and connector.kind == "gatewayapi"
        assert "no fault-injection field" in connector.capabilities().why_not("fault")
        with pytest.raises(ValidationError, match="no fault-injection field"):
            connector.plan([set_fault(connector.get_route("shop-0"), FAULT)])
    finally:
        connector.close()


def test_set_fault_on_istio_from_the_command_line(
    istio: KubeEmulator,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, err = run(capsys, "routes", "-o", "json", "-n", "default")
    reviews = next(r["name"] for r in json.loads(out) if r["name"].startswith("reviews"))
    rc, out, err = run(
        capsys, "set-fault", reviews, "--abort", "503", "--abort-percent", "2.5", "-n", "default"
    )
    assert rc == 0, err
    assert f"{reviews}: fault none→abort 503 on 2.5%" in out
    assert vs(istio, "reviews")["spec"]["http"][0]["fault"] == {
        "abort": {"httpStatus": 503, "percentage": {"value": 2.5}}
    }
    rc, out, err = run(capsys, "set-fault", reviews, "--abort", "700", "-n", "default")
    assert rc == 1 and err.count("\n") == 1 and "fault.abort_status: must be an HTTP status 200-599" in err
    rc, out, err = run(capsys, "set-fault", reviews, "--remove", "-n", "default")
    assert rc == 0, err
    assert "fault" not in vs(istio, "reviews")["spec"]["http"][0]
