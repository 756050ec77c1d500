"""Live figures and triage for cluster gateways: ``metrics()`` of the Kubernetes connectors with a real
Prometheus, and the gateway pods' logs through the API emulator's ``pods/log``.

Envoy Gateway's data plane is played by a real Envoy configured the way Envoy Gateway configures
its proxies (cluster ``httproute/<ns>/<route>/rule/<i>``, route names, a local rate limit, its JSON
access log): Prometheus scrapes it, and its own access log becomes the gateway pod's log.
Istio's standard metrics come from a small exporter, since Istio's stats need its proxy."""

from __future__ import annotations

import json
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.demo.backend import DemoBackend
from connectors.demo.prometheus import PrometheusProcess
from connectors.errors import MetricsError
from connectors.http_client import http_get
from connectors.kube.connector import KubeConnector
from connectors.metrics import PrometheusConfig, PrometheusSource, Scope
from connectors.native.process import free_port
from tests.kube_emulator import KubeEmulator, Rule
from tests.native_support import require_envoy
from tests.prometheus_support import Traffic
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
    obj,
)
from tests.waiting import wait_until

NS = "gateway-conformance-infra"
EG_NAMESPACE = "envoy-gateway-system"
EG_POD = "envoy-default-eg-5d8f7c9b4-x2x7k"
FLUSH_OFTEN = ("--file-flush-interval-msec", "200")  # the access log is read right after the traffic
CLUSTER = "httproute/default/backend/rule/0"
ROUTE_NAME = f"{CLUSTER}/match/0/www_example_com"
# Envoy Gateway's default access-log fields that the triage reads, plus one request header.
ACCESS_LOG_FORMAT = {
    "start_time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "response_code": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
    "route_name": "%ROUTE_NAME%",
    "x-team": "%REQ(X-TEAM)%",
}


@dataclass
class EnvoyGatewayProxy:
    listen_port: int
    admin_port: int
    access_log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen_port}"

    def log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []


def _bootstrap(listen: int, admin: int, backend: int, log: Path) -> str:
    api = "type.googleapis.com/envoy.extensions"
    limiter = f"{api}.filters.http.local_ratelimit.v3.LocalRateLimit"
    hcm = f"{api}.filters.network.http_connection_manager.v3.HttpConnectionManager"
    router = f"{api}.filters.http.router.v3.Router"
    file_log = f"{api}.access_loggers.file.v3.FileAccessLog"
    return textwrap.dedent(
        f"""\
        admin:
          address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
        static_resources:
          listeners:
          - name: default/eg/http
            address: {{socket_address: {{address: 127.0.0.1, port_value: {listen}}}}}
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": {hcm}
                  stat_prefix: http-10080
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": {file_log}
                      path: {log}
                      log_format: {{json_format: {json.dumps(ACCESS_LOG_FORMAT)}}}
                  http_filters:
                  - name: envoy.filters.http.local_ratelimit
                    typed_config: {{"@type": {limiter}, stat_prefix: http_local_rate_limiter}}
                  - name: envoy.filters.http.router
                    typed_config: {{"@type": {router}}}
                  route_config:
                    name: default/eg/http
                    virtual_hosts:
                    - name: default/eg/http/www_example_com
                      domains: ["www.example.com"]
                      routes:
                      - name: {ROUTE_NAME}
                        match: {{prefix: /}}
                        route: {{cluster: {CLUSTER}}}
                        typed_per_filter_config:
                          envoy.filters.http.local_ratelimit:
                            "@type": {limiter}
                            stat_prefix: http_local_rate_limiter
                            token_bucket: {{max_tokens: 3, tokens_per_fill: 3, fill_interval: 1s}}
                            filter_enabled:
                              default_value: {{numerator: 100, denominator: HUNDRED}}
                              runtime_key: local_rate_limit_enabled
                            filter_enforced:
                              default_value: {{numerator: 100, denominator: HUNDRED}}
                              runtime_key: local_rate_limit_enforced
          clusters:
          - name: {CLUSTER}
            type: STATIC
            connect_timeout: 1s
            load_assignment:
              cluster_name: {CLUSTER}
              endpoints:
              - lb_endpoints:
                - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {backend}}}}}}}
        """
    )


@pytest.fixture(scope="module")
def eg_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyGatewayProxy]:
    envoy = require_envoy()
    root = tmp_path_factory.mktemp("eg-proxy")
    with DemoBackend("backend").start() as backend:
        proxy = EnvoyGatewayProxy(free_port(), free_port(), root / "access.log")
        config = root / "envoy.yaml"
        config.write_text(_bootstrap(proxy.listen_port, proxy.admin_port, backend.port, proxy.access_log))
        with (root / "envoy.out").open("wb") as out:
            process = subprocess.Popen(
                [envoy, "-c", str(config), "--disable-hot-restart", "--log-level", "warning", *FLUSH_OFTEN],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        try:

            def ready() -> bool:
                if process.poll() is not None:
                    pytest.fail(f"Envoy exited: {(root / 'envoy.out').read_text()[-2000:]}")
                try:
                    r = http_get(f"http://127.0.0.1:{proxy.admin_port}/ready", timeout=1.0)
                except httpx.HTTPError:
                    return False
                return r.status_code == 200

            wait_until(ready, timeout=30.0, what="Envoy to be ready")
            yield proxy
        finally:
            process.terminate()
            process.wait(timeout=10)


def eg_pod(name: str = EG_POD, gateway: str = "eg", phase: str = "Running") -> dict[str, Any]:
    """An Envoy Gateway proxy pod as Envoy Gateway labels it (two containers, the proxy is ``envoy``)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": EG_NAMESPACE,
            "labels": {
                "app.kubernetes.io/name": "envoy",
                "gateway.envoyproxy.io/owning-gateway-name": gateway,
                "gateway.envoyproxy.io/owning-gateway-namespace": "default",
            },
        },
        "spec": {
            "containers": [
                {"name": "envoy", "image": "docker.io/envoyproxy/envoy:distroless-v1.35.0"},
                {"name": "shutdown-manager", "image": "docker.io/envoyproxy/gateway:v1.5.0"},
            ]
        },
        "status": {"phase": phase},
    }


def seed_quickstart(emu: KubeEmulator, listen_port: int) -> None:
    """Envoy Gateway's quickstart as its controller leaves it: the Gateway has an address."""
    load(emu, "envoy-gateway/quickstart.yaml")
    gateway = obj(emu, "gateway.networking.k8s.io", "v1", "gateways", "eg")
    gateway["spec"]["listeners"][0]["port"] = listen_port
    gateway["status"] = {"addresses": [{"type": "IPAddress", "value": "127.0.0.1"}]}
    emu.put_object(gateway)
    emu.load_manifests([eg_pod()])


def test_envoy_gateway_figures_and_refused_clients_come_from_prometheus_and_the_pod_log(
    kube_emulator: KubeEmulator,
    connect: Connect,
    eg_proxy: EnvoyGatewayProxy,
    prometheus: PrometheusProcess,
) -> None:
    seed_quickstart(kube_emulator, eg_proxy.listen_port)
    prometheus.set_targets([f"127.0.0.1:{eg_proxy.admin_port}"])
    connector = connect(prometheus=PrometheusConfig(prometheus.url))
    assert connector.cluster_names() == {CLUSTER: ("backend-0", "backend:3000")}  # type: ignore[attr-defined]
    route = connector.get_route("backend-0")
    target = connector.traffic_url(route)
    assert target == (eg_proxy.url, "www.example.com")
    metrics = connector.metrics()
    assert isinstance(metrics, PrometheusSource)
    try:
        base_url, host = target
        with Traffic(base_url, host, rps=12.0, headers={"x-team": "checkout"}) as traffic:

            def backend_figures() -> Any:
                stats = metrics.snapshot().routes.get("backend-0")
                return (
                    stats
                    if stats is not None and stats.rps > 0 and "backend:3000" in stats.backends
                    else None
                )

            stats = wait_until(backend_figures, timeout=20.0, what="backend-0 figures in Prometheus")
            wait_until(lambda: traffic.snapshot()[0][429] >= 3, what="some requests refused")
        statuses, backends = traffic.snapshot()
        assert statuses[200] > 0 and backends["backend"] == statuses[200]
        assert stats.backends["backend:3000"].rps > 0
        wait_until(
            lambda: any(metrics.series(Scope("backend-0"), 60.0).values("2xx")), what="a backend-0 chart"
        )

        # Envoy's own access log is the gateway pod's log; every refusal the clients saw is in it.
        def refusals() -> list[str] | None:
            lines = eg_proxy.log_lines()
            refused = [line for line in lines if json.loads(line)["response_flags"] == "RL"]
            return lines if len(refused) == statuses[429] else None

        lines = wait_until(refusals, what="the access log to hold every refusal")
        kube_emulator.set_pod_logs(EG_NAMESPACE, EG_POD, lines, container="envoy", interval=_spread(lines))
        assert metrics.top_limited_clients("backend-0", window_s=300.0) == [("127.0.0.1", statuses[429])]
        assert metrics.top_limited_clients("backend-0", "x-team", 300.0) == [("checkout", statuses[429])]
        assert all(
            json.loads(line)["route_name"] == "backend-0"
            for line in connector.gateway_log_lines(300.0)  # type: ignore[attr-defined]
        )
    finally:
        metrics.close()


def _spread(lines: list[str]) -> timedelta:
    """Stamp the lines within the last minute (the emulator stamps plain lines ``interval`` apart)."""
    return timedelta(seconds=60.0 / max(1, len(lines)))


# -- Istio: istio_requests_total from an exporter -------------------------------------------------


class _Exporter(BaseHTTPRequestHandler):
    """Answers any path, Prometheus' scrape path included."""

    server: _ExporterServer

    def do_GET(self) -> None:
        body = self.server.render().encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain; version=0.0.4")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ExporterServer(ThreadingHTTPServer):
    daemon_threads = True
    started: float
    rates: dict[tuple[str, str, str], float]

    def render(self) -> str:
        """Counters growing at ``rates`` per second since the start, as Istio's sidecar exports them."""
        elapsed = time.monotonic() - self.started
        out = ["# TYPE istio_requests_total counter"]
        for (service, version, code), rate in self.rates.items():
            labels = (
                f'reporter="source",source_workload="istio-ingressgateway",destination_service="{service}",'
                f'destination_version="{version}",response_code="{code}"'
            )
            out.append(f"istio_requests_total{{{labels}}} {rate * elapsed:.3f}")
        return "\n".join(out) + "\n"


@pytest.fixture
def istio_exporter() -> Iterator[_ExporterServer]:
    server = _ExporterServer(("127.0.0.1", 0), _Exporter)
    server.started = time.monotonic()
    server.rates = {}
    thread = threading.Thread(target=server.serve_forever, name="istio-exporter", daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_istio_figures_are_attributed_to_the_virtual_service_route_and_subset(
    kube_emulator: KubeEmulator,
    connect: Connect,
    prometheus: PrometheusProcess,
    istio_exporter: _ExporterServer,
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml", "istio/destination-rule-reviews.yaml")
    service = "reviews.default.svc.cluster.local"
    istio_exporter.rates = {
        (service, "v1", "200"): 8.0,
        (service, "v2", "200"): 2.0,
        (service, "v2", "503"): 1.0,
    }
    prometheus.set_targets([f"127.0.0.1:{istio_exporter.server_address[1]}"])
    connector = connect(prometheus=PrometheusConfig(prometheus.url))
    metrics = connector.metrics()
    assert isinstance(metrics, PrometheusSource)
    try:

        def reviews() -> Any:
            stats = metrics.snapshot().routes.get("reviews-0")
            return (
                stats if stats is not None and {"reviews/v1", "reviews/v2"} <= set(stats.backends) else None
            )

        stats = wait_until(reviews, timeout=20.0, what="reviews-0 figures in Prometheus")
        v1, v2 = stats.backends["reviews/v1"], stats.backends["reviews/v2"]
        assert v1.rps == pytest.approx(8.0, rel=0.25) and v2.rps == pytest.approx(3.0, rel=0.25)
        assert v1.error_pct == 0 and v2.error_pct == pytest.approx(100 / 3, rel=0.25)
    finally:
        metrics.close()


def test_istio_destinations_map_services_and_subset_versions_to_routes(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml", "istio/destination-rule-reviews.yaml")
    load(kube_emulator, "istio/bookinfo-gateway.yaml")
    destinations = connect().istio_destinations()  # type: ignore[attr-defined]
    reviews = "reviews.default.svc.cluster.local"
    assert destinations[(reviews, "v1")] == ("reviews-0", "reviews/v1")
    assert destinations[(reviews, "v2")] == ("reviews-0", "reviews/v2")
    assert (reviews, "v3") not in destinations  # no route sends traffic to v3
    # No subset: every version of productpage is the route's one backend.
    assert destinations[("productpage.default.svc.cluster.local", "unknown")] == (
        "bookinfo-0",
        "productpage:9080",
    )


def test_envoy_gateway_clusters_name_the_rule_and_its_backend_when_it_has_one(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/http-routing.yaml")
    load(kube_emulator, "envoy-gateway/weighted-backend-all-equal.yaml", namespace=NS)
    clusters = connect().cluster_names()  # type: ignore[attr-defined]
    assert clusters["httproute/default/bar-route/rule/0"] == ("bar-route-0", "bar-canary-svc:8080")
    assert clusters["httproute/default/bar-route/rule/1"] == ("bar-route-1", "bar-svc:8080")
    assert len(clusters) == 4  # one per rule of the namespace's HTTPRoutes
    # Two backends share the rule's cluster: Envoy's stats cannot tell them apart.
    assert connect(namespace=NS).cluster_names() == {  # type: ignore[attr-defined]
        f"httproute/{NS}/weight-equal-http-route/rule/0": ("weight-equal-http-route-0", "")
    }


def test_without_prometheus_a_cluster_gateway_has_no_metrics(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    assert connect().metrics() is None


# -- gateway pods' logs ------------------------------------------------------------------------------


def test_pod_logs_are_bounded_by_the_window_and_read_from_the_proxy_container(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    kube_emulator.load_manifests([eg_pod(), eg_pod("envoy-default-eg-pending", phase="Pending")])
    now = datetime.now(UTC)
    old = json.dumps({"response_code": 429, "response_flags": "RL", "route_name": ROUTE_NAME})
    recent = json.dumps({"response_code": 200, "response_flags": "-", "route_name": ROUTE_NAME})
    kube_emulator.set_pod_logs(
        EG_NAMESPACE, EG_POD, [(now - timedelta(hours=1), old), (now, recent)], container="envoy"
    )
    kube_emulator.set_pod_logs(
        EG_NAMESPACE, EG_POD, ["shutdown-manager: ready"], container="shutdown-manager"
    )
    connector = connect()
    kube_emulator.reset_log()
    lines = connector.gateway_log_lines(60.0)  # type: ignore[attr-defined]
    assert [json.loads(line) for line in lines] == [
        {"response_code": 200, "response_flags": "-", "route_name": "backend-0"}
    ]
    (read,) = kube_emulator.requests("GET", "/log")
    assert read.param("container") == "envoy" and read.param("sinceSeconds") == "60"
    assert int(read.param("tailLines") or 0) > 0 and int(read.param("limitBytes") or 0) > 0


def test_no_gateway_pods_is_a_clear_metrics_error(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    with pytest.raises(
        MetricsError,
        match=r"no running gateway pods found .*owning-gateway-name=eg.* in envoy-gateway-system",
    ):
        connect().gateway_log_lines(60.0)  # type: ignore[attr-defined]


def test_a_user_who_may_not_read_pod_logs_gets_a_metrics_error_naming_the_permission(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    kube_emulator.load_manifests([eg_pod()])
    connector = connect()
    connector.list_routes()  # the routes are on screen; then the user's role loses pods/log
    kube_emulator.set_rules("admin", (Rule(verbs=("get", "list", "watch"), resources=("pods",)),))
    with pytest.raises(MetricsError) as refused:
        connector.gateway_log_lines(60.0)  # type: ignore[attr-defined]
    assert "cannot get pods/log in namespace envoy-gateway-system" in str(refused.value)
    assert "needs list on pods and get on pods/log" in str(refused.value)


def test_a_failing_api_server_is_retried_then_a_metrics_error(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    kube_emulator.load_manifests([eg_pod()])
    kube_emulator.set_pod_logs(EG_NAMESPACE, EG_POD, ['{"response_code":200}'], container="envoy")
    connector = connect()
    connector.client.backoff = 0.01
    kube_emulator.fail_next(2, 503, path_contains="/log")
    assert connector.gateway_log_lines(60.0) == ['{"response_code":200}']  # type: ignore[attr-defined]
    kube_emulator.fail_next(10, 503, path_contains="/log")
    with pytest.raises(MetricsError, match=r"cannot read the gateway pods' logs .*kept failing"):
        connector.gateway_log_lines(60.0)  # type: ignore[attr-defined]


def test_istio_ingress_pods_are_found_by_the_gateway_selector(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/bookinfo-gateway.yaml")
    kube_emulator.load_manifests(
        [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "istio-ingressgateway-7d4f8b8c5-abcde",
                    "namespace": "istio-system",
                    "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
                },
                "spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.27.0"}]},
                "status": {"phase": "Running"},
            }
        ]
    )
    line = json.dumps({"route_name": "-", "response_code": "429", "response_flags": "RL"})
    kube_emulator.set_pod_logs("istio-system", "istio-ingressgateway-7d4f8b8c5-abcde", [line])
    connector: KubeConnector = connect()
    assert connector.gateway_log_lines(60.0) == [line]  # type: ignore[attr-defined]
    (read,) = kube_emulator.requests("GET", "/log")
    assert "/namespaces/istio-system/pods/istio-ingressgateway-7d4f8b8c5-abcde/log" in read.path
    assert read.param("container") == "istio-proxy"
