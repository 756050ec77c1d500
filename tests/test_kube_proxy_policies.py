"""The proxies are asked about more than weights: a rate limit, CORS policy or fault that a gateway pod
did not get is reported per pod (not yet / different), one it got is confirmed, after apply and in
the ``proxies`` drift check. The pods are real Envoys holding what the test renders as istiod or
Envoy Gateway would; a thread plays the control plane and withholds the change from one pod."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.model import Cors, RateLimit, StringMatch
from connectors.model.edits import set_cors, set_rate_limit
from tests.kube_emulator import KubeEmulator
from tests.proxy_support import GatewayPods, Json, gateway_pods
from tests.test_cli_kube import run
from tests.test_kube_proxies import (
    BLUEGREEN,
    EG_LABELS,
    EG_NAMESPACE,
    ISTIO_LABELS,
    NS,
    ControlPlane,
    _reviews_through_the_gateway,
    eg_routes,
    istio_routes,
)
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
    vs,
)

__all__ = ["gateway_pods"]

LOCAL_RATELIMIT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct"
CORS_POLICY = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy"
HTTP_FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
ENFORCED = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}, "runtime_key": "rl"}


def with_filters(routes: list[Json], name: str | None = None, **per_filter: Json) -> list[Json]:
    """``routes`` with per-route filter configs (keyed by the filter's name), optionally renamed."""
    out = copy.deepcopy(routes)
    for entry in out:
        entry["typed_per_filter_config"] = {f"envoy.filters.http.{k}": v for k, v in per_filter.items()}
        if name is not None:
            entry["name"] = name
    return out


def istio_limit(requests: int, interval: str) -> Json:
    """A LocalRateLimit as an Istio EnvoyFilter patch carries it (a TypedStruct)."""
    bucket = {"max_tokens": requests, "tokens_per_fill": requests, "fill_interval": interval}
    value = {
        "stat_prefix": "http_local_rate_limiter",
        "token_bucket": bucket,
        "filter_enabled": ENFORCED,
        "filter_enforced": ENFORCED,
    }
    return {"@type": TYPED_STRUCT, "type_url": LOCAL_RATELIMIT, "value": value}


def start_istio_pods(emu: KubeEmulator, pods: GatewayPods) -> None:
    load(emu, "istio/bookinfo-gateway.yaml", "istio/destination-rule-reviews.yaml")
    emu.put_object(_reviews_through_the_gateway(emu))
    for i in "ab":
        pods.start(
            "istio-system",
            f"istio-ingressgateway-{i}",
            ISTIO_LABELS,
            "istio-proxy",
            15000,
            istio_routes(80, 20),
        )


def test_an_istio_rate_limit_withheld_from_one_proxy_is_not_yet_with_the_deadline(
    kube_emulator: KubeEmulator, gateway_pods: GatewayPods, connect: Connect
) -> None:
    start_istio_pods(kube_emulator, gateway_pods)
    connector = connect(namespace="default")
    connector.proxy_wait = 2.0
    route = next(r for r in connector.list_routes() if r.name.startswith("reviews"))
    plan = connector.plan([set_rate_limit(route, RateLimit(5, 60.0))])
    limited = with_filters(istio_routes(80, 20), route.name, local_ratelimit=istio_limit(5, "60s"))

    def written() -> bool:
        return bool(vs(kube_emulator, "reviews")["spec"]["http"][0].get("name") == route.name)

    with ControlPlane(written, gateway_pods.pods[:1], limited) as control_plane:  # pod b is withheld
        result = Change(connector).apply(plan)
    assert control_plane.pushed.is_set()
    details = result.verification.details
    assert not result.verification.ok
    assert "proxies: NOT converged by the 2 s deadline: 1 of 2 gateway pods hold the change" in details, (
        details
    )
    assert (
        f"proxy istio-system/istio-ingressgateway-a ({route.name}): has it — v1 80%, v2 20%; rate limit 5/1m"
        in (details)
    )
    assert (
        f"proxy istio-system/istio-ingressgateway-b ({route.name}): not yet — "
        "rate limit: holds none, expected 5/1m" in details
    ), details


def test_envoy_gateway_cors_on_every_proxy_is_confirmed_per_pod(
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
    cors = Cors(allow_origins=(StringMatch("exact", "https://shop.example"),), allow_methods=("GET", "POST"))
    plan = connector.plan([set_cors(route, cors)])
    policy = {
        "@type": CORS_POLICY,
        "allow_origin_string_match": [{"exact": "https://shop.example"}],
        "allow_methods": "GET, POST",  # Envoy Gateway's spelling; the same methods
    }

    def written() -> bool:  # in a SecurityPolicy or the rule's own CORS filter
        policies = kube_emulator.objects(group="gateway.envoyproxy.io")
        rule = kube_emulator.get_object("gateway.networking.k8s.io", "v1", "httproutes", NS, BLUEGREEN) or {}
        filters = rule["spec"]["rules"][0].get("filters") or []
        return any("cors" in (p.get("spec") or {}) for p in policies) or any(
            f.get("type") == "CORS" for f in filters
        )

    with ControlPlane(written, pods, with_filters(eg_routes(9, 1), cors=policy)):
        result = Change(connector).apply(plan)
    details = result.verification.details
    assert result.verification.ok, details
    for pod in ("envoy-eg-a", "envoy-eg-b"):
        assert (
            f"proxy {EG_NAMESPACE}/{pod} ({route.name}): has it — "
            "infra-backend-v1 90%, infra-backend-v2 10%; "
            "CORS origins exact:https://shop.example; methods GET,POST" in details
        ), details


ISTIO_FAULT = {"abort": {"httpStatus": 503, "percentage": {"value": 5}}}


def test_the_proxies_command_compares_the_fault_each_proxy_injects(
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
    load(kube_emulator, "istio/bookinfo-gateway.yaml", "istio/destination-rule-reviews.yaml")
    reviews: dict[str, Any] = _reviews_through_the_gateway(kube_emulator)
    reviews["spec"]["http"][0]["fault"] = ISTIO_FAULT
    kube_emulator.put_object(reviews)
    fault = {"@type": HTTP_FAULT, "abort": {"http_status": 503, "percentage": {"numerator": 5}}}
    injects = with_filters(istio_routes(80, 20), fault=fault)
    gateway_pods.start("istio-system", "istio-ingressgateway-a", ISTIO_LABELS, "istio-proxy", 15000, injects)
    gateway_pods.start(
        "istio-system", "istio-ingressgateway-b", ISTIO_LABELS, "istio-proxy", 15000, istio_routes(80, 20)
    )
    rc, out, err = run(capsys, "routes", "-o", "json", "-n", "default")
    route = next(r["name"] for r in json.loads(out) if r["name"].startswith("reviews"))

    rc, out, err = run(capsys, "proxies", route, "-n", "default")
    assert rc == 1, err
    lines = out.splitlines()
    assert "proxies: 1 of 2 gateway pods hold the route as its objects say" in lines, lines
    assert (
        f"proxy istio-system/istio-ingressgateway-a ({route}): has it — v1 80%, v2 20%; fault abort 503 on 5%"
        in (lines)
    )
    assert (
        f"proxy istio-system/istio-ingressgateway-b ({route}): different — fault: holds none, "
        "expected abort 503 on 5%" in lines
    )
