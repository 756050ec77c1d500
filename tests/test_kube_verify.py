"""Verification reads the written objects back and reports what their controllers say about the new
generation. No controller runs in the emulator: a thread plays one, writing status through the
status subresource (the official client, real HTTP) once the object reaches a new generation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client import CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from connectors.change import Change
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    http_route,
    kube_state_fixture,
    load,
    vs,
    writes,
)

GATEWAY_API = ("gateway.networking.k8s.io", "v1", "httproutes")
TRAFFIC_POLICY = ("gateway.envoyproxy.io", "v1alpha1", "backendtrafficpolicies")
VIRTUAL_SERVICE = ("networking.istio.io", "v1", "virtualservices")
NS = "gateway-conformance-infra"
CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
StatusFor = Callable[[int], dict[str, Any] | None]


def condition(kind: str, status: str, reason: str, generation: int, message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message or f"{kind} {reason}",
        "observedGeneration": generation,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }


def route_status(generation: int, accepted: str = "True", reason: str = "Accepted") -> dict[str, Any]:
    return {
        "parents": [
            {
                "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "eg"},
                "controllerName": CONTROLLER,
                "conditions": [
                    condition("Accepted", accepted, reason, generation),
                    condition("ResolvedRefs", "True", "ResolvedRefs", generation),
                ],
            }
        ]
    }


def policy_status(generation: int, accepted: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "ancestors": [
            {
                "ancestorRef": {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": "same-namespace",
                },
                "controllerName": CONTROLLER,
                "conditions": [condition("Accepted", accepted, reason, generation, message)],
            }
        ]
    }


class Controller:
    """Waits for the object to pass its generation, then writes ``status_for(new generation)``
    through the status subresource, as a gateway controller does after reconciling (None: write
    nothing, ``status_for`` did something else)."""

    def __init__(
        self,
        emu: KubeEmulator,
        resource: tuple[str, str, str],
        namespace: str,
        name: str,
        status_for: StatusFor,
    ) -> None:
        self.emu, self.resource, self.namespace, self.name = emu, resource, namespace, name
        self.status_for = status_for
        stored = emu.get_object(*resource, namespace, name)
        assert stored is not None
        self.start_generation = int(stored["metadata"]["generation"])
        self.reported: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-controller", daemon=True)

    def _run(self) -> None:
        group, version, plural = self.resource
        with self.emu.api_client() as client:
            api = CustomObjectsApi(client)
            while not self._stop.wait(0.02):
                current: Any = api.get_namespaced_custom_object(
                    group, version, self.namespace, plural, self.name
                )
                generation = int(current["metadata"]["generation"])
                if generation <= self.start_generation:
                    continue
                status = self.status_for(generation)
                if status is None:
                    return
                current["status"] = status
                try:
                    api.replace_namespaced_custom_object_status(
                        group, version, self.namespace, plural, self.name, current
                    )
                except ApiException as exc:
                    if exc.status == 409:
                        continue  # changed meanwhile: read again, as a controller does
                    raise
                self.reported = generation
                return

    def __enter__(self) -> Controller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def quickstart(kube_emulator: KubeEmulator) -> KubeEmulator:
    """Envoy Gateway's quickstart, with the status its controller wrote for generation 1."""
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    route = http_route(kube_emulator, "backend")
    route["status"] = route_status(1)
    kube_emulator.put_object(route)
    return kube_emulator


def test_verification_waits_for_the_controller_and_shows_its_conditions(
    quickstart: KubeEmulator, connect: Connect
) -> None:
    connector = connect(verify_wait=10.0)
    route = connector.get_route("backend-0")
    plan = connector.plan([set_weights(route, {"backend:3000": 5})])
    with Controller(quickstart, GATEWAY_API, "default", "backend", route_status) as controller:
        result = Change(connector).apply(plan)
    assert controller.reported == 2
    assert result.verification.ok, result.verification.details
    assert (
        "HTTPRoute default/backend: Accepted=True (Accepted), ResolvedRefs=True (ResolvedRefs) "
        "— parent Gateway eg, generation 2" in result.verification.details
    )
    assert result.seconds < 10.0  # it stopped waiting once the controller had reported
    assert result.entry.verified
    # No gateway pods to ask: the controller's report is what confirmed it.
    assert result.verification.confirmed == "controller"
    assert result.verification.headline().startswith("verified by the controller")


def test_a_controller_refusing_the_change_fails_the_verification_with_its_message(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/local-ratelimit.yaml", namespace=NS)
    stored = kube_emulator.get_object(*TRAFFIC_POLICY, NS, "ratelimit-all-traffic")
    assert stored is not None
    stored["status"] = policy_status(1, "True", "Accepted", "Policy has been accepted.")
    kube_emulator.put_object(stored)
    refusal = "This policy is being overridden by other backendTrafficPolicies for these routes"

    def refuse(generation: int) -> dict[str, Any]:
        return policy_status(generation, "False", "Conflicted", refusal)

    connector = connect(namespace=NS, verify_wait=10.0)
    route = connector.get_route("http-ratelimit-all-traffic-0")
    plan = connector.plan([set_rate_limit(route, RateLimit(4, 3600.0))])
    with Controller(kube_emulator, TRAFFIC_POLICY, NS, "ratelimit-all-traffic", refuse):
        result = Change(connector).apply(plan)
    verification = result.verification
    label = f"BackendTrafficPolicy {NS}/ratelimit-all-traffic"
    assert not verification.ok
    assert (
        f"{label}: Accepted=False (Conflicted): {refusal} — ancestor Gateway same-namespace, generation 2"
        in verification.details
    )
    assert f"{label}: not in effect: Accepted=False (Conflicted): {refusal}" in verification.details
    assert not result.entry.verified  # history says so too
    # The write itself stands: the cluster holds the new limit; the operator decides what to do.
    policy = kube_emulator.get_object(*TRAFFIC_POLICY, NS, "ratelimit-all-traffic")
    assert policy is not None and policy["spec"]["rateLimit"]["local"]["rules"][0]["limit"]["requests"] == 4


def test_without_a_controller_the_write_is_accepted_and_the_wait_is_said(
    quickstart: KubeEmulator, connect: Connect
) -> None:
    connector = connect(verify_wait=0.3)
    route = connector.get_route("backend-0")
    plan = connector.plan([set_weights(route, {"backend:3000": 5})])
    quickstart.reset_log()
    result = Change(connector).apply(plan)
    verification = result.verification
    assert verification.ok
    assert (
        "HTTPRoute default/backend: no controller has reported on generation 2 yet (waited 0.3 s); "
        "the API server accepted the write" in verification.details
    )
    assert (
        "HTTPRoute default/backend: last report (parent Gateway eg, generation 1, not yet on this change): "
        "Accepted=True (Accepted), ResolvedRefs=True (ResolvedRefs)" in verification.details
    )
    # Plan and apply: one patch. Verification only reads, after it: the route, then where its gateway's
    # proxies would run (there are none here, which the verification says).
    requests = quickstart.requests()
    patches = [r for r in requests if r.method == "PATCH"]
    assert [r.method for r in writes(quickstart)] == ["PATCH"]
    after = requests[requests.index(patches[0]) + 1 :]
    assert after and all(r.method == "GET" for r in after)
    assert {r.path for r in after} == {
        "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/backend",
        "/api/v1/namespaces/envoy-gateway-system/pods",
        "/api/v1/namespaces/default/pods",
    }
    assert any("no running gateway pods" in line for line in verification.details)
    # Written, accepted by the API server, and nothing more: not "verified".
    assert verification.confirmed == "written"
    assert verification.headline() == (
        "written; not confirmed by a controller or proxy "
        "(no controller reported within 0.3 s; no gateway pods)"
    )


def test_istio_status_is_waited_for_when_istiod_reports_and_its_analysis_shows(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    stored = vs(kube_emulator, "reviews")
    stored["status"] = {"observedGeneration": "1"}  # istiod writes int64 as a string
    kube_emulator.put_object(stored)

    def analysed(generation: int) -> dict[str, Any]:
        return {
            "observedGeneration": str(generation),
            "validationMessages": [
                {
                    "documentationUrl": "https://istio.io/latest/docs/reference/config/analysis/ist0101/",
                    "level": "ERROR",
                    "type": {"code": "IST0101", "name": "ReferencedResourceNotFound"},
                }
            ],
        }

    connector = connect(verify_wait=10.0)
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 50, "reviews/v2": 50})]
    )
    with Controller(kube_emulator, VIRTUAL_SERVICE, "default", "reviews", analysed):
        result = Change(connector).apply(plan)
    assert not result.verification.ok
    assert (
        "VirtualService default/reviews: ERROR IST0101 ReferencedResourceNotFound "
        "(https://istio.io/latest/docs/reference/config/analysis/ist0101/) — generation 2"
        in result.verification.details
    )
    assert (
        "VirtualService default/reviews: not in effect: Istio analysis ERROR IST0101 "
        "ReferencedResourceNotFound (https://istio.io/latest/docs/reference/config/analysis/ist0101/)"
        in result.verification.details
    )


def test_istio_without_status_reporting_is_read_back_once_without_waiting(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect(verify_wait=30.0)
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 50, "reviews/v2": 50})]
    )
    kube_emulator.reset_log()
    result = Change(connector).apply(plan)
    assert result.verification.ok
    assert result.verification.details == (
        f"VirtualService default/reviews: patched, resourceVersion {plan.payload.changes[0].base_version} → "
        f"{vs(kube_emulator, 'reviews')['metadata']['resourceVersion']}, as planned",
        "VirtualService default/reviews: no controller reports status on this object (istiod writes status "
        "only when its status reporting is on); the API server accepted the write",
        "proxies: reviews-0: a mesh route: its sidecar proxies are not checked",
    )
    assert [r.method for r in kube_emulator.requests() if "virtualservices" in r.path] == ["PATCH", "GET"]
    assert result.seconds < 30.0


def test_a_change_made_again_right_after_the_write_is_not_verified(
    quickstart: KubeEmulator, connect: Connect
) -> None:
    connector = connect(verify_wait=1.0)  # reads until then: no controller reports here
    plan = connector.plan([set_weights(connector.get_route("backend-0"), {"backend:3000": 5})])

    def theirs(generation: int) -> None:
        # Someone else sets the weight back between our write and the read-back.
        stored = http_route(quickstart, "backend")
        stored["spec"]["rules"][0]["backendRefs"][0]["weight"] = 1
        quickstart.put_object(stored)

    with Controller(quickstart, GATEWAY_API, "default", "backend", theirs):
        result = Change(connector).apply(plan)
    assert not result.verification.ok
    assert any("NOT as planned" in d for d in result.verification.details)


def test_deleted_objects_are_read_back_as_gone(quickstart: KubeEmulator, connect: Connect) -> None:
    connector = connect()
    route = connector.get_route("backend-0")
    Change(connector).apply(connector.plan([set_rate_limit(route, RateLimit(10, 1.0))]))
    result = Change(connector).apply(connector.plan([set_rate_limit(connector.get_route("backend-0"), None)]))
    assert result.verification.ok
    assert "BackendTrafficPolicy default/backend-ratelimit: deleted" in result.verification.details
