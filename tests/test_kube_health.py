"""Backend health of Kubernetes gateways: real Envoys play the gateway pods (Istio's ingress gateway,
Envoy Gateway's proxy) behind the emulator's ``pods/proxy``, with clusters named as istiod and Envoy
Gateway name them, real backends made to fail; ``health`` shows what those Envoys count."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from connectors.http_client import http_client, http_get
from tests.incident_support import FailingServer
from tests.kube_emulator import KubeEmulator
from tests.proxy_support import GatewayPod, GatewayPods, Json, gateway_pods
from tests.test_kube_deny import SHOP
from tests.test_kube_proxies import BLUEGREEN, EG_LABELS, EG_NAMESPACE, ISTIO_LABELS, RULE
from tests.test_kube_support import load
from tests.waiting import wait_until
from tui.cli import main

__all__ = ["gateway_pods"]

API = "outbound|80||api.default.svc.cluster.local"
WEB = "outbound|80||web.default.svc.cluster.local"


def cluster(name: str, servers: list[FailingServer], **extra: Any) -> Json:
    endpoints = [
        {
            "endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": s.server_address[1]}}
            }
        }
        for s in servers
    ]
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": endpoints}]},
        **extra,
    }


def route(prefix: str, cluster_name: str) -> Json:
    return {"match": {"prefix": prefix}, "route": {"cluster": cluster_name}}


EJECT = {
    "outlier_detection": {
        "consecutive_5xx": 3,
        "interval": "1s",
        "base_ejection_time": "300s",
        "max_ejection_percent": 100,
    }
}
TIGHT = {
    "circuit_breakers": {"thresholds": [{"max_connections": 1, "max_pending_requests": 1, "max_requests": 1}]}
}


@pytest.fixture
def servers() -> Iterator[dict[str, FailingServer]]:
    made = {
        "a": FailingServer(503),
        "b": FailingServer(503),
        "ok": FailingServer(200),
        "slow": FailingServer(200, delay=1.0),
    }
    yield made
    for s in made.values():
        s.stop()


def get(pod: GatewayPod, path: str, host: str = "shop.example") -> int:
    with http_client(base_url=pod.url, timeout=10) as c:
        return c.get(path, headers={"host": host}).status_code


def health(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    rc = main(["health", *args, "-o", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def admin_stat(pod: GatewayPod, cluster_name: str, stat: str) -> int:
    answer = http_get(f"{pod.admin_url}/stats", params={"format": "json", "filter": "^cluster\\."}, timeout=5)
    named = {s["name"]: s.get("value", 0) for s in answer.json()["stats"] if "name" in s}
    return int(named.get(f"cluster.{cluster_name}.{stat}", 0))


@pytest.fixture
def kube_cli(kubeconfig_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


def test_istio_health_from_the_ingress_gateway_pods(
    kube_emulator: KubeEmulator,
    gateway_pods: GatewayPods,
    servers: dict[str, FailingServer],
    kube_cli: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(SHOP)
    clusters = [cluster(API, [servers["a"], servers["b"]], **EJECT), cluster(WEB, [servers["ok"]])]
    pod = gateway_pods.start(
        "istio-system",
        "ingress-0",
        ISTIO_LABELS,
        "istio-proxy",
        15000,
        [route("/api", API), route("/", WEB)],
        clusters,
    )
    for _ in range(12):
        get(pod, "/api/x")
    assert get(pod, "/") == 200
    wait_until(
        lambda: admin_stat(pod, API, "outlier_detection.ejections_active") == 2, what="both api hosts ejected"
    )

    rows = health(capsys, "--context", "emulator", "-n", "default")
    assert [(r["route"], r["backend"], r["state"]) for r in rows] == [
        ("api", "api", "ejected"),
        ("web", "web", "unchecked"),  # nothing checks web: never called healthy
    ]
    api, web = rows
    # The same definitions as natively: the cluster's 5xx and completed counters.
    assert api["failures"] == admin_stat(pod, API, "upstream_rq_5xx") > 0
    assert web["requests"] == admin_stat(pod, WEB, "upstream_rq_completed") > 0 == web["failures"]
    assert api["checks"] == ["outlier detection"] and web["checks"] == []
    assert api["cluster"] == API
    assert api["ejections_active"] == 2 == admin_stat(pod, API, "outlier_detection.ejections_active")
    assert api["ejections_total"] == admin_stat(pod, API, "outlier_detection.ejections_enforced_total")
    assert all("failed_outlier_check" in e["flags"] for e in api["endpoints"])
    assert [r["route"] for r in health(capsys, "web", "--context", "emulator", "-n", "default")] == ["web"]


def test_envoy_gateway_health_counts_overflows_of_the_proxy(
    kube_emulator: KubeEmulator,
    gateway_pods: GatewayPods,
    servers: dict[str, FailingServer],
    kube_cli: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ns = "gateway-conformance-infra"
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=ns)
    blue, green = f"{RULE}/backend/0", f"{RULE}/backend/1"
    clusters = [cluster(blue, [servers["slow"]], **TIGHT), cluster(green, [servers["ok"]])]
    weighted = {
        "weighted_clusters": {"clusters": [{"name": blue, "weight": 1}, {"name": green, "weight": 0}]}
    }
    pod = gateway_pods.start(
        EG_NAMESPACE,
        "envoy-eg-0",
        EG_LABELS,
        "envoy",
        19000,
        [{"match": {"prefix": "/"}, "route": weighted}],
        clusters,
    )
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: get(pod, "/", "x"), range(8)))
    assert 503 in codes and 200 in codes

    rows = health(capsys, "--context", "emulator", "-n", ns)
    by = {r["cluster"]: r for r in rows}
    assert {(r["route"], r["backend"]) for r in rows} == {
        (f"{BLUEGREEN}-0", "infra-backend-v1:8080"),
        (f"{BLUEGREEN}-0", "infra-backend-v2:8080"),
    }
    for name in ("upstream_cx_overflow", "upstream_rq_pending_overflow", "upstream_rq_active_overflow"):
        assert by[blue]["overflows"][name] == admin_stat(pod, blue, name), name
    assert sum(by[blue]["overflows"].values()) > 0
    assert by[blue]["thresholds"]["max_connections"] == 1
    assert rows[0]["cluster"] == blue, "the overflowing backend ranks first"


def test_health_without_gateway_pods_or_permission_is_one_line(
    kube_emulator: KubeEmulator, kube_cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    capsys.readouterr()
    assert main(["health", "reviews-0", "--context", "emulator", "-n", "default"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "mesh route" in err


def test_istio_health_over_two_gateway_pods_sums_the_same_counters(
    kube_emulator: KubeEmulator,
    gateway_pods: GatewayPods,
    servers: dict[str, FailingServer],
    kube_cli: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A dead backend (nothing listens) behind two ingress pods and no check: failing, its failures
    both pods' ``upstream_rq_5xx`` summed; the live one "unchecked", never healthy."""
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(SHOP)
    dead = {
        "name": API,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": API,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}}
                            }
                        }
                    ]
                }
            ],
        },
    }
    pods = [
        gateway_pods.start(
            "istio-system",
            f"ingress-{i}",
            ISTIO_LABELS,
            "istio-proxy",
            15000,
            [route("/api", API), route("/", WEB)],
            [dead, cluster(WEB, [servers["ok"]])],
        )
        for i in range(2)
    ]
    for i, pod in enumerate(pods):
        for _ in range(3 + i):
            assert get(pod, "/api/x") == 503
        assert get(pod, "/") == 200

    rows = health(capsys, "--context", "emulator", "-n", "default")
    assert [(r["route"], r["state"]) for r in rows] == [("api", "failing"), ("web", "unchecked")]
    api, web = rows
    assert api["failures"] == sum(admin_stat(p, API, "upstream_rq_5xx") for p in pods) == 7
    assert api["requests"] == sum(admin_stat(p, API, "upstream_rq_completed") for p in pods)
    assert len(api["endpoints"]) == 2 and all("(pod ingress-" in e["address"] for e in api["endpoints"])
    assert all(e["errors"] == e["total"] == e["connect_failures"] > 0 for e in api["endpoints"])
    assert web["requests"] == 2 and web["failures"] == 0 and not web["in_trouble"]
