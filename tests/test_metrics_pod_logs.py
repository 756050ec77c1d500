"""Per-client triage on cluster gateways: the gateway pods' JSON access logs, read over real HTTP from
the Kubernetes API emulator (``pods/log`` with ``sinceSeconds``) by the connectors' own reader, ranked
by 429s per client. (A user without ``pods/log`` is covered in tests/test_kube_metrics.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import kubernetes
import pytest

from connectors.kube.client import KubeClient
from connectors.kube.gateway_logs import PodSet, read_lines
from connectors.metrics import EnvoyFamily, PrometheusConfig, PrometheusSource
from connectors.metrics.pod_logs import top_clients_in_lines
from tests.kube_emulator.emulator import KubeEmulator

NS = "envoy-gateway-system"


def _close(client: kubernetes.client.ApiClient) -> None:
    cast(Callable[[], None], client.close)()  # the kubernetes package leaves close() unannotated


ROUTE_NAME = "httproute/shop/storefront/rule/0/match/0/shop_example_com"


def _eg_line(
    code: int, client: str, *, flags: str = "-", route: str = ROUTE_NAME, key: str | None = None
) -> str:
    record: dict[str, Any] = {
        "start_time": "2026-05-01T10:00:00.000Z",
        "method": "GET",
        "x-envoy-origin-path": "/",
        "response_code": code,
        "response_flags": flags,
        "route_name": route,
        "upstream_cluster": "httproute/shop/storefront/rule/0",
        "downstream_remote_address": f"{client}:40000",
        "user-agent": "load/1.0",
        "x-request-id": "0b60ced5-f525-45e5-9233-171eb33b7c95",
    }
    if key is not None:
        record["x-api-key"] = key
    return json.dumps(record)


def _pod(name: str, gateway: str = "edge") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"gateway.envoyproxy.io/owning-gateway-name": gateway},
        },
        "spec": {
            "containers": [{"name": "envoy", "image": "envoyproxy/envoy"}, {"name": "shutdown-manager"}]
        },
        "status": {"phase": "Running"},
    }


EDGE_PODS = PodSet(NS, "gateway.envoyproxy.io/owning-gateway-name=edge", ("envoy",))


@pytest.fixture
def kube(kube_emulator: KubeEmulator) -> Iterator[KubeClient]:
    client = kube_emulator.api_client()
    yield KubeClient(client, context="emulator", user="admin", server=kube_emulator.url)
    _close(client)


KEY = "sk_live_51HxQ2kLmN3pQrStUvWxYz0123456789"


def test_top_refused_clients_come_from_every_gateway_pod_within_the_window(
    kube_emulator: KubeEmulator, kube: KubeClient
) -> None:
    for pod in ("edge-a", "edge-b", "other-gw"):
        kube_emulator.put_object(_pod(pod, "other" if pod == "other-gw" else "edge"))
    now = datetime.now(UTC)
    old = now - timedelta(hours=2)
    kube_emulator.set_pod_logs(
        NS,
        "edge-a",
        [
            (old, _eg_line(429, "10.0.0.9", flags="RL")),  # before the window: not counted
            *[(now, _eg_line(429, "10.0.0.7", flags="RL", key=KEY)) for _ in range(5)],
            *[(now, _eg_line(200, "10.0.0.8")) for _ in range(9)],
            (now, "[2026-05-01 10:00:00.000][1][warning] not an access record"),
        ],
        container="envoy",
    )
    kube_emulator.set_pod_logs(
        NS,
        "edge-b",
        [
            *[(now, _eg_line(429, "10.0.0.8", flags="RL")) for _ in range(2)],
            *[
                (now, _eg_line(429, "10.0.0.7", flags="RL", route="httproute/shop/checkout/rule/0"))
                for _ in range(4)
            ],
            (now, _eg_line(503, "10.0.0.7", flags="UH")),
        ],
        container="envoy",
    )
    kube_emulator.set_pod_logs(
        NS, "other-gw", [(now, _eg_line(429, "10.9.9.9", flags="RL"))], container="envoy"
    )
    lines = read_lines(kube, [[EDGE_PODS]], since_s=600)
    assert len(lines) == 5 + 9 + 1 + 2 + 4 + 1
    # The Prometheus source asks the connector's reader for the lines (no Prometheus needed for that).
    source = PrometheusSource(
        PrometheusConfig("http://127.0.0.1:9"),
        EnvoyFamily(),
        log_lines=lambda since_s: read_lines(kube, [[EDGE_PODS]], since_s),
    )
    try:
        assert source.top_limited_clients("shop/storefront", "source", 600) == [
            ("10.0.0.7", 5),
            ("10.0.0.8", 2),
        ]
        assert source.top_limited_clients("checkout", "source", 600) == [("10.0.0.7", 4)]
        by_key = source.top_limited_clients("shop/storefront", "x-api-key", 600)
        assert len(by_key) == 1 and by_key[0][1] == 5
        assert KEY not in by_key[0][0] and by_key[0][0].startswith("sk_l")  # masked, never whole
    finally:
        source.close()


def test_istio_ingress_pods_are_read_from_the_proxy_container(
    kube_emulator: KubeEmulator, kube: KubeClient
) -> None:
    kube_emulator.put_object(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "ingress-1",
                "namespace": "istio-system",
                "labels": {"istio": "ingressgateway"},
            },
            "spec": {"containers": [{"name": "istio-proxy", "image": "istio/proxyv2"}]},
            "status": {"phase": "Running"},
        }
    )
    line = json.dumps(
        {
            "start_time": "2026-05-01T10:00:00.000Z",
            "route_name": "reviews-v2",
            "response_code": 429,
            "response_flags": "RL",
            "downstream_remote_address": "10.1.1.1:5555",
        }
    )
    kube_emulator.set_pod_logs("istio-system", "ingress-1", [line, line], container="istio-proxy")
    lines = read_lines(kube, [[PodSet("istio-system", "istio=ingressgateway", ("istio-proxy",))]], since_s=60)
    assert top_clients_in_lines(lines, "reviews-v2") == [("10.1.1.1", 2)]
