"""Shadow limits on Kubernetes: Istio writes the route's local rate limit counted but not enforced
(``filter_enabled`` 100 %, ``filter_enforced`` 0 %) under a stat prefix of its own, undone exactly; a
real Envoy holding that config refuses nothing and ``shadow`` reads its counters through
``pods/proxy``. Envoy Gateway cannot shadow a local limit, and says why."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.http_client import http_get
from connectors.kube.istio.common import LOCAL_RATELIMIT, LOCAL_RATELIMIT_TYPE
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from tests.incident_support import FailingServer
from tests.kube_emulator import KubeEmulator
from tests.proxy_support import GatewayPods, gateway_pods
from tests.test_kube_deny import SHOP, assert_valid
from tests.test_kube_health import WEB, cluster, get
from tests.test_kube_proxies import ISTIO_LABELS
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    envoy_filter,
    kube_state_fixture,
    load,
)
from tui.cli import main

__all__ = ["gateway_pods"]

FILTER = "gatewayctl-ratelimit-default-shop-gateway"
SHADOW = RateLimit(2, 60.0, shadow=True)


def specs(emu: KubeEmulator) -> dict[tuple[str, str], Any]:
    return {
        (o["kind"], o["metadata"]["name"]): o.get("spec")
        for kind in ("VirtualService", "EnvoyFilter")
        for o in emu.objects(kind)
    }


def route_config(emu: KubeEmulator) -> dict[str, Any]:
    ef = envoy_filter(emu, FILTER, "istio-system")
    assert ef is not None
    assert_valid(ef)
    patch = next(p for p in ef["spec"]["configPatches"] if p["applyTo"] == "HTTP_ROUTE")
    value: dict[str, Any] = patch["patch"]["value"]["typed_per_filter_config"][LOCAL_RATELIMIT]["value"]
    return value


@pytest.fixture(name="shop")
def shop_fixture(kube_emulator: KubeEmulator) -> KubeEmulator:
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(SHOP)
    return kube_emulator


def test_istio_shadow_limit_is_counted_not_enforced_and_undone_exactly(
    shop: KubeEmulator, connect: Connect
) -> None:
    connector = connect()
    start = specs(shop)
    change = Change(connector)
    api = connector.get_route("api")
    change.apply(change.plan_edit("rate_limit", api, set_rate_limit(api, SHADOW)))
    value = route_config(shop)
    assert value["filter_enabled"]["default_value"]["numerator"] == 100
    assert value["filter_enforced"]["default_value"]["numerator"] == 0
    assert value["stat_prefix"] == "gw_shadow_api"
    assert connector.get_route("api").rate_limit == SHADOW

    api = connector.get_route("api")
    enforced = replace(SHADOW, shadow=False)
    change.apply(change.plan_edit("rate_limit", api, set_rate_limit(api, enforced)))
    value = route_config(shop)
    assert value["filter_enforced"]["default_value"]["numerator"] == 100
    assert value["stat_prefix"] == "http_local_rate_limiter", "its refusals count as the gateway's again"
    assert connector.get_route("api").rate_limit == enforced

    Change(connector).apply(Change(connector).plan_undo())
    Change(connector).apply(Change(connector).plan_undo())
    assert specs(shop) == start


def test_a_real_envoy_with_the_shadow_config_refuses_nothing_and_shadow_reads_its_counters(
    shop: KubeEmulator,
    connect: Connect,
    gateway_pods: GatewayPods,
    kubeconfig_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    connector = connect()
    api = connector.get_route("api")
    Change(connector).apply(Change(connector).plan_edit("rate_limit", api, set_rate_limit(api, SHADOW)))
    # The gateway pod holds what istiod would make of the EnvoyFilter: the inert filter, the route's config.
    per_route = {"@type": LOCAL_RATELIMIT_TYPE, **route_config(shop)}
    inert = {"name": LOCAL_RATELIMIT, "typed_config": {"@type": LOCAL_RATELIMIT_TYPE, "stat_prefix": "inert"}}
    ok = FailingServer(200)
    try:
        routes = [
            {
                "match": {"prefix": "/api"},
                "route": {"cluster": WEB},
                "typed_per_filter_config": {LOCAL_RATELIMIT: per_route},
            }
        ]
        pod = gateway_pods.start(
            "istio-system",
            "ingress-0",
            ISTIO_LABELS,
            "istio-proxy",
            15000,
            routes,
            [cluster(WEB, [ok])],
            [inert],
        )
        codes = [get(pod, "/api/x") for _ in range(7)]
    finally:
        ok.stop()
    assert codes == [200] * 7, "a shadow limit refuses nothing"
    stats = http_get(
        f"{pod.admin_url}/stats", params={"format": "json", "filter": "gw_shadow_api"}, timeout=5
    )
    envoy = {s["name"]: s.get("value", 0) for s in stats.json()["stats"] if "name" in s}
    assert envoy["gw_shadow_api.http_local_rate_limit.rate_limited"] == 5

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    capsys.readouterr()
    assert main(["shadow", "-o", "json", "--context", "emulator", "-n", "default"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["route"], row["requests"], row["would_refuse"], row["enforced"]) == ("api", 7, 5, 0)
    assert row["note"] == ""


def test_envoy_gateway_says_why_it_cannot_shadow(
    kube_emulator: KubeEmulator,
    connect: Connect,
    kubeconfig_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ns = "gateway-conformance-infra"
    load(kube_emulator, "envoy-gateway/local-ratelimit.yaml", namespace=ns)
    connector = connect(namespace=ns)
    route = connector.list_routes()[0]
    with pytest.raises(ValidationError, match="only supported for Global Rate Limits"):
        connector.plan([set_rate_limit(route, RateLimit(5, 1.0, shadow=True))])
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    capsys.readouterr()
    assert main(["shadow", "--context", "emulator", "-n", ns]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot shadow a local rate limit" in err
