"""Undo restores exactly: after read → edit → undo every object's spec (and labels, annotations) is as
it was before the edit, with nothing the edit created or added left behind, on both Kubernetes
connectors, for every kind of edit and on every upstream example manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.kube import open_cluster
from connectors.kube.connector import KubeConnector
from connectors.model import Cors, Fault, RateLimit, Route, StringMatch
from connectors.model.edits import set_cors, set_fault, set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator, validate_manifest
from tests.test_kube_support import (  # noqa: F401 - fixtures
    EXAMPLES,
    VERIFY_WAIT_S,
    Connect,
    connect_fixture,
    envoy_filter,
    http_route,
    kube_state_fixture,
    load,
    vs,
    writes,
)

GROUPS = ("networking.istio.io", "security.istio.io", "gateway.networking.k8s.io", "gateway.envoyproxy.io")
NS = "gateway-conformance-infra"
Snapshot = dict[tuple[str, str, str], Any]


def snapshot(emu: KubeEmulator) -> Snapshot:
    """Everything an operator wrote: spec, labels and annotations of every gateway object."""
    out: Snapshot = {}
    for group in GROUPS:
        for o in emu.objects(group=group):
            meta = o["metadata"]
            key = (o["kind"], meta.get("namespace") or "", meta["name"])
            out[key] = (o.get("spec"), meta.get("labels"), meta.get("annotations"))
    return out


def edit_then_undo(emu: KubeEmulator, connector: KubeConnector, edited: Route) -> bool:
    """Plan, apply and undo one edit; False when the plan refuses it (then nothing was written)."""
    before = snapshot(emu)
    emu.reset_log()
    try:
        plan = connector.plan([edited])
    except ValidationError:
        assert writes(emu) == []
        return False
    result = Change(connector).apply(plan)
    kinds = {k for k, _, _ in before}
    for o in emu.objects(include=lambda kind, group: kind in kinds or group in GROUPS):
        assert validate_manifest(o) == [], o["metadata"]["name"]
    assert result.entry.routes
    undo = connector.plan_undo()
    Change(connector).apply(undo)
    after = snapshot(emu)
    assert after == before, _difference(before, after)
    return True


def _difference(before: Snapshot, after: Snapshot) -> str:
    lines = [f"left behind: {k}" for k in after.keys() - before.keys()]
    lines += [f"gone: {k}" for k in before.keys() - after.keys()]
    lines += [
        f"changed: {k}: {before[k]} -> {after[k]}"
        for k in before.keys() & after.keys()
        if before[k] != after[k]
    ]
    return "\n".join(lines)


CORS = Cors(allow_origins=(StringMatch("exact", "https://undo.example.com"),), allow_methods=("GET",))
FAULT = Fault(delay=0.2, delay_percent=10.0, abort_status=503, abort_percent=5.0)


def edits_of(route: Route) -> list[tuple[str, Route]]:
    """Every kind of edit that makes sense on ``route``."""
    out: list[tuple[str, Route]] = []
    names = [b.name for b in route.backends]
    weights = {b.name: b.weight for b in route.backends}
    if route.weight_mode == "relative" and names:
        out.append(("weights", set_weights(route, {names[0]: weights[names[0]] + 1})))
    elif len(names) > 1:
        first, second = names[0], names[1]
        shift = 10 if weights[first] >= 10 else -10
        out.append(
            ("weights", set_weights(route, {first: weights[first] - shift, second: weights[second] + shift}))
        )
    out.append(("rate_limit", set_rate_limit(route, RateLimit(7, 60.0))))
    if route.rate_limit is not None:
        out.append(("rate_limit off", set_rate_limit(route, replace(route.rate_limit, enabled=False))))
        out.append(("rate_limit removed", set_rate_limit(route, None)))
    out.append(("cors", set_cors(route, CORS)))
    if route.cors is not None:
        out.append(("cors removed", set_cors(route, None)))
    out.append(("fault", set_fault(route, FAULT)))
    if route.fault is not None:
        out.append(("fault removed", set_fault(route, None)))
    return out


def round_trip(emu: KubeEmulator, connector: KubeConnector) -> list[str]:
    done = []
    for route in connector.list_routes():
        for kind, edited in edits_of(route):
            if edit_then_undo(emu, connector, edited):
                done.append(f"{route.name} {kind}")
    return done


ISTIO_EXAMPLES = sorted(
    p.name for p in (EXAMPLES / "istio").glob("*.yaml") if p.name.startswith(("virtual-service", "bookinfo"))
)


@pytest.mark.parametrize("example", ISTIO_EXAMPLES)
def test_istio_examples_round_trip_every_edit(
    example: str, kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.create_namespace("istio-system")
    load(kube_emulator, f"istio/{example}", "istio/destination-rule-all.yaml")
    connector = connect()
    done = round_trip(kube_emulator, connector)
    assert {"rate_limit", "cors", "fault"} <= {d.split()[1] for d in done}, done


def test_istio_rate_limit_examples_round_trip(kube_emulator: KubeEmulator, connect: Connect) -> None:
    kube_emulator.create_namespace("istio-system")
    text = (EXAMPLES / "istio/enable_envoy_local_ratelimit_per_route.yaml").read_text()
    kube_emulator.load_manifests(text.replace("{{ .EchoNamespace }}", "default"))
    load(kube_emulator, "istio/local-rate-limit-service.yaml", "istio/bookinfo-gateway.yaml")
    load(kube_emulator, "istio/virtual-service-all-v1.yaml")
    connector = connect()
    assert round_trip(kube_emulator, connector)


EG_EXAMPLES = {
    "weighted-backend-all-equal.yaml": NS,
    "weighted-backend-bluegreen.yaml": NS,
    "weighted-backend-completing-rollout.yaml": NS,
    "quickstart.yaml": "default",
    "http-routing.yaml": "default",
    "jwt.yaml": "default",
    "cors-security-policy.yaml": NS,
    "local-ratelimit.yaml": NS,
}


@pytest.mark.parametrize("example", sorted(EG_EXAMPLES))
def test_envoy_gateway_examples_round_trip_every_edit(
    example: str, kube_emulator: KubeEmulator, connect: Connect
) -> None:
    namespace = EG_EXAMPLES[example]
    load(kube_emulator, f"envoy-gateway/{example}", namespace=namespace)
    connector = connect(namespace=namespace)
    done = round_trip(kube_emulator, connector)
    assert {"rate_limit", "cors", "fault"} <= {d.split()[1] for d in done}, done


# -- the residue the issue found, one by one ---------------------------------------------------------


def test_undo_of_an_istio_rate_limit_removes_the_route_name_it_added(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    original = vs(kube_emulator, "reviews")["spec"]
    connector = connect()
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(9, 1.0))])
    )
    assert vs(kube_emulator, "reviews")["spec"]["http"][0]["name"] == "reviews-0"

    undo = connector.plan_undo()
    assert [c.label for c in undo.native_changes] == [
        "VirtualService default/reviews",
        "EnvoyFilter default/gatewayctl-ratelimit-mesh",
    ]
    Change(connector).apply(undo)
    assert vs(kube_emulator, "reviews")["spec"] == original
    assert envoy_filter(kube_emulator, "gatewayctl-ratelimit-mesh", "default") is None


SHARED_POLICIES = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: eg}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /cart}}]
    backendRefs: [{name: cart, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 8080}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: shop-auth}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}]
  jwt:
    providers:
    - name: example
      remoteJWKS: {uri: https://issuer.example.com/jwks.json}
  cors:
    allowOrigins: ["https://shop.example.com"]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: eg-limits}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: eg}]
  rateLimit:
    type: Local
    local:
      rules:
      - limit: {requests: 100, unit: Second}
  retry: {numRetries: 3}
"""


@pytest.mark.parametrize(
    ("kind", "edit"),
    [
        ("cors", lambda r: set_cors(r, CORS)),
        ("rate_limit", lambda r: set_rate_limit(r, RateLimit(5, 1.0))),
    ],
)
def test_undo_of_an_envoy_gateway_edit_deletes_the_rule_copy_and_the_rule_name(
    kind: str, edit: Any, kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.load_manifests(SHARED_POLICIES)
    before = snapshot(kube_emulator)
    connector = connect()
    plan = connector.plan([edit(connector.get_route("shop-1"))])
    assert [c.label.split()[0] for c in plan.native_changes] == [
        "HTTPRoute",
        "SecurityPolicy" if kind == "cors" else "BackendTrafficPolicy",
    ]
    Change(connector).apply(plan)
    assert http_route(kube_emulator, "shop")["spec"]["rules"][1]["name"] == "shop-1"
    if kind == "cors":  # the copy carries the JWT settings, so the rule keeps them while it exists
        assert connector.get_route("shop-1").jwt == connector.get_route("shop-0").jwt

    Change(connector).apply(connector.plan_undo())
    assert snapshot(kube_emulator) == before
    assert connector.get_route("shop-1").jwt == connector.get_route("shop-0").jwt


def test_undo_after_someone_else_changed_the_object_plans_an_ordinary_edit(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(9, 1.0))])
    )
    theirs = vs(kube_emulator, "reviews")
    theirs["spec"]["exportTo"] = ["."]  # not a field the change wrote, and not part of the route
    kube_emulator.put_object(theirs)

    undo = connector.plan_undo()
    assert any("were changed since" in w for w in undo.warnings), undo.warnings
    Change(connector).apply(undo)
    assert vs(kube_emulator, "reviews")["spec"]["exportTo"] == ["."], "their change is kept"
    assert envoy_filter(kube_emulator, "gatewayctl-ratelimit-mesh", "default") is None
    assert connector.get_route("reviews-0").rate_limit is None


def test_stacked_changes_undone_in_turn_leave_the_objects_as_they_were(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    original = snapshot(kube_emulator)
    connector = connect()
    Change(connector).apply(
        connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(9, 1.0))])
    )
    limited = snapshot(kube_emulator)
    Change(connector).apply(
        connector.plan([set_weights(connector.get_route("reviews-0"), {"reviews/v1": 5, "reviews/v2": 95})])
    )
    Change(connector).apply(connector.plan_undo())
    assert snapshot(kube_emulator) == limited
    Change(connector).apply(connector.plan_undo())
    assert snapshot(kube_emulator) == original


def test_plain_gateway_api_cors_filter_and_weights_round_trip(
    kube_emulator_factory: Callable[..., KubeEmulator], tmp_path: Path, kube_state: Path
) -> None:
    emu = kube_emulator_factory(crds=("gateway-api",))
    load(
        emu, "envoy-gateway/weighted-backend-bluegreen.yaml", "envoy-gateway/http-routing.yaml", namespace=NS
    )
    kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
    connector = open_cluster(namespace=NS, kubeconfig=str(kubeconfig), verify_wait=VERIFY_WAIT_S)
    try:
        assert isinstance(connector, KubeConnector) and connector.kind == "gatewayapi"
        done = round_trip(emu, connector)
        assert any("cors" in d for d in done) and any("weights" in d for d in done), done
    finally:
        connector.close()
