"""Verify on the data plane: after apply, each gateway pod's Envoy is asked (through the API server's
`pods/proxy`) whether it holds the new traffic split. The pods are real Envoys the test programs as
the control plane would; a thread plays the control plane, pushing the change to some pods only."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.model.edits import set_weights
from tests.kube_emulator import KubeEmulator
from tests.proxy_support import GatewayPod, GatewayPods, Json, gateway_pods
from tests.test_cli_kube import run
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
)

__all__ = ["gateway_pods"]

NS = "gateway-conformance-infra"
EG_NAMESPACE = "envoy-gateway-system"
BLUEGREEN = "weight-bluegreen-http-route"
RULE = f"httproute/{NS}/{BLUEGREEN}/rule/0"
EG_LABELS = {
    "gateway.envoyproxy.io/owning-gateway-name": "same-namespace",
    "gateway.envoyproxy.io/owning-gateway-namespace": NS,
}
ISTIO_LABELS = {"istio": "ingressgateway", "app": "istio-ingressgateway"}
REVIEWS_CONFIG = "/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews"


def eg_routes(blue: int, green: int) -> list[Json]:
    """Rule 0 of the blue/green HTTPRoute as Envoy Gateway programs it (two backendRefs)."""
    clusters = [{"name": f"{RULE}/backend/0", "weight": blue}, {"name": f"{RULE}/backend/1", "weight": green}]
    return [
        {
            "name": f"{RULE}/match/0/*",
            "match": {"prefix": "/"},
            "route": {"weighted_clusters": {"clusters": clusters}},
        }
    ]


def istio_routes(v1: int, v2: int) -> list[Json]:
    """The reviews VirtualService's http[0] as istiod programs an ingress gateway."""
    fqdn = "reviews.default.svc.cluster.local"
    clusters = [
        {"name": f"outbound|9080|v1|{fqdn}", "weight": v1},
        {"name": f"outbound|9080|v2|{fqdn}", "weight": v2},
    ]
    return [
        {
            "match": {"prefix": "/"},
            "route": {"weighted_clusters": {"clusters": clusters}},
            "metadata": {"filter_metadata": {"istio": {"config": REVIEWS_CONFIG}}},
        }
    ]


class ControlPlane:
    """Once the route object carries the new weights, pushes `routes` to `pods` (the others keep
    what they hold), as istiod or Envoy Gateway would after reconciling."""

    def __init__(self, written: Callable[[], bool], pods: list[GatewayPod], routes: list[Json]) -> None:
        self._written, self._pods, self._routes = written, pods, routes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.pushed = threading.Event()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            if self._written():
                for pod in self._pods:
                    pod.serve(self._routes)
                self.pushed.set()
                return

    def __enter__(self) -> ControlPlane:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def http_route_weights(emu: KubeEmulator) -> list[int]:
    obj = emu.get_object("gateway.networking.k8s.io", "v1", "httproutes", NS, BLUEGREEN) or {}
    return [int(r.get("weight", 1)) for r in obj["spec"]["rules"][0]["backendRefs"]]


def test_envoy_gateway_pods_that_get_the_change_confirm_it_per_pod(
    kube_emulator: KubeEmulator, gateway_pods: GatewayPods, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=NS)
    pods = [
        gateway_pods.start(EG_NAMESPACE, f"envoy-eg-{i}", EG_LABELS, "envoy", 19000, eg_routes(9, 1))
        for i in "ab"
    ]
    connector = connect(namespace=NS)
    connector.proxy_wait = 20.0
    route = next(r for r in connector.list_routes() if r.name.startswith(BLUEGREEN))
    plan = connector.plan([set_weights(route, {b.name: 50 for b in route.backends})])
    with ControlPlane(lambda: http_route_weights(kube_emulator) == [50, 50], pods, eg_routes(50, 50)):
        result = Change(connector).apply(plan)
    details = result.verification.details
    assert result.verification.ok, details
    assert any(line.startswith("proxies: all 2 gateway pods hold the change") for line in details), details
    for pod in ("envoy-eg-a", "envoy-eg-b"):
        assert (
            f"proxy {EG_NAMESPACE}/{pod} ({route.name}): has it — infra-backend-v1 50%, infra-backend-v2 50%"
            in details
        )
    assert kube_emulator.requests("GET", "/pods/envoy-eg-a:19000/proxy/config_dump")
    assert result.verification.confirmed == "proxies"
    assert result.verification.headline() == "verified: the gateway proxies hold it"


def test_a_pod_that_never_gets_the_change_is_reported_not_converged_with_the_deadline(
    kube_emulator: KubeEmulator, gateway_pods: GatewayPods, connect: Connect
) -> None:
    load(kube_emulator, "istio/bookinfo-gateway.yaml", "istio/destination-rule-reviews.yaml")
    vs = _reviews_through_the_gateway(kube_emulator)
    kube_emulator.put_object(vs)
    pods = [
        gateway_pods.start(
            "istio-system",
            f"istio-ingressgateway-{i}",
            ISTIO_LABELS,
            "istio-proxy",
            15000,
            istio_routes(80, 20),
        )
        for i in "ab"
    ]
    connector = connect(namespace="default")
    connector.proxy_wait = 2.0
    route = next(r for r in connector.list_routes() if r.name.startswith("reviews"))
    plan = connector.plan([set_weights(route, {b.name: 50 for b in route.backends})])

    def written() -> bool:
        stored = (
            kube_emulator.get_object("networking.istio.io", "v1", "virtualservices", "default", "reviews")
            or {}
        )
        return [d.get("weight") for d in stored["spec"]["http"][0]["route"]] == [50, 50]

    with ControlPlane(written, pods[:1], istio_routes(50, 50)) as control_plane:  # pod b is withheld
        result = Change(connector).apply(plan)
    assert control_plane.pushed.is_set()
    details = result.verification.details
    assert not result.verification.ok
    assert "proxies: NOT converged by the 2 s deadline: 1 of 2 gateway pods hold the change" in details, (
        details
    )
    assert f"proxy istio-system/istio-ingressgateway-a ({route.name}): has it — v1 50%, v2 50%" in details
    assert (
        f"proxy istio-system/istio-ingressgateway-b ({route.name}): not yet — holds v1 80%, v2 20%, "
        "expected v1 50%, v2 50%" in details
    )


def test_a_proxy_holding_something_else_is_different_and_an_unreachable_one_says_why(
    kube_emulator: KubeEmulator, gateway_pods: GatewayPods, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=NS)
    odd = gateway_pods.start(EG_NAMESPACE, "envoy-eg-odd", EG_LABELS, "envoy", 19000, eg_routes(3, 7))
    gone = gateway_pods.start(EG_NAMESPACE, "envoy-eg-gone", EG_LABELS, "envoy", 19000, eg_routes(9, 1))
    kube_emulator.set_pod_proxy(EG_NAMESPACE, gone.name, 19000, None)
    connector = connect(namespace=NS)
    connector.proxy_wait = 0.5
    route = next(r for r in connector.list_routes() if r.name.startswith(BLUEGREEN))
    result = Change(connector).apply(
        connector.plan([set_weights(route, {b.name: 50 for b in route.backends})])
    )
    details = result.verification.details
    assert not result.verification.ok
    assert (
        f"proxy {EG_NAMESPACE}/{odd.name} ({route.name}): different — holds infra-backend-v1 30%, "
        "infra-backend-v2 70%, expected infra-backend-v1 50%, infra-backend-v2 50%" in details
    )
    unreachable = next(line for line in details if line.startswith(f"proxy {EG_NAMESPACE}/{gone.name}"))
    assert ": unreachable — " in unreachable and "connection refused" in unreachable


def test_an_unreachable_pod_could_not_be_checked_and_is_not_a_failure(
    kube_emulator: KubeEmulator, gateway_pods: GatewayPods, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=NS)
    good = gateway_pods.start(EG_NAMESPACE, "envoy-eg-good", EG_LABELS, "envoy", 19000, eg_routes(9, 1))
    gone = gateway_pods.start(EG_NAMESPACE, "envoy-eg-gone", EG_LABELS, "envoy", 19000, eg_routes(9, 1))
    kube_emulator.set_pod_proxy(EG_NAMESPACE, gone.name, 19000, None)
    connector = connect(namespace=NS)
    connector.proxy_wait = 20.0
    route = next(r for r in connector.list_routes() if r.name.startswith(BLUEGREEN))
    plan = connector.plan([set_weights(route, {b.name: 50 for b in route.backends})])
    with ControlPlane(lambda: http_route_weights(kube_emulator) == [50, 50], [good], eg_routes(50, 50)):
        result = Change(connector).apply(plan)
    verification = result.verification
    assert verification.ok, verification.details  # nothing seen contradicts the change
    assert verification.confirmed == "written"
    assert "1 of 2 gateway pods could not be checked" in verification.headline()
    line = next(x for x in verification.details if x.startswith(f"proxy {EG_NAMESPACE}/{gone.name}"))
    assert ": unreachable — could not be checked: " in line


def test_without_gateway_pods_the_proxies_are_not_checked_and_verification_says_so(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=NS)
    connector = connect(namespace=NS)
    route = next(r for r in connector.list_routes() if r.name.startswith(BLUEGREEN))
    result = Change(connector).apply(
        connector.plan([set_weights(route, {b.name: 50 for b in route.backends})])
    )
    assert result.verification.ok
    assert any(
        "no running gateway pods" in line and "not checked" in line for line in result.verification.details
    ), result.verification.details


def _reviews_through_the_gateway(emu: KubeEmulator) -> dict[str, Any]:
    """The upstream 80/20 reviews VirtualService, bound to the Bookinfo ingress gateway."""
    (vs,) = load(emu, "istio/virtual-service-reviews-80-20.yaml")
    vs["spec"]["gateways"] = ["bookinfo-gateway"]
    vs["metadata"] = {"name": "reviews", "namespace": "default"}
    return vs


def test_the_proxies_command_shows_drift_between_the_objects_and_each_proxy(
    kube_emulator: KubeEmulator,
    kubeconfig_path: Path,
    gateway_pods: GatewayPods,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=NS)
    gateway_pods.start(EG_NAMESPACE, "envoy-eg-a", EG_LABELS, "envoy", 19000, eg_routes(9, 1))
    drifted = gateway_pods.start(EG_NAMESPACE, "envoy-eg-b", EG_LABELS, "envoy", 19000, eg_routes(1, 1))
    rc, out, err = run(capsys, "routes", "-o", "json", "-n", NS)
    assert rc == 0, err
    route = next(r["name"] for r in json.loads(out) if r["name"].startswith(BLUEGREEN))

    rc, out, err = run(capsys, "proxies", route, "-n", NS)
    assert rc == 1, err
    lines = out.splitlines()
    assert "proxies: 1 of 2 gateway pods hold the route as its objects say" in lines
    assert (
        f"proxy {EG_NAMESPACE}/envoy-eg-a ({route}): has it — infra-backend-v1 90%, infra-backend-v2 10%"
        in lines
    )
    assert (
        f"proxy {EG_NAMESPACE}/envoy-eg-b ({route}): different — holds infra-backend-v1 50%, "
        "infra-backend-v2 50%, expected infra-backend-v1 90%, infra-backend-v2 10%" in lines
    )

    drifted.serve(eg_routes(9, 1))
    rc, out, err = run(capsys, "proxies", route, "-n", NS, "-o", "json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["ok"] is True
    assert "proxies: all 2 gateway pods hold the route as its objects say" in report["details"]

    rc, out, err = run(capsys, "proxies", "no-such-route", "-n", NS)
    assert rc == 1
    assert err.startswith("error: ") and "no-such-route" in err and len(err.strip().splitlines()) == 1
