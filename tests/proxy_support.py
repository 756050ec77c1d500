"""Gateway pods for the data-plane tests: real Envoys that hold a route configuration the test renders
(as Istio or Envoy Gateway would program it) and that the Kubernetes API emulator reaches through
`pods/proxy` (fixtures; no tests here).

Each Envoy takes its routes from a file (RDS over the filesystem): `serve(routes)` renames a new
DiscoveryResponse over it, which is how a test plays the control plane pushing a change to one pod and
withholding it from another. `stop_all` (the fixture's teardown) ends every Envoy it started.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.http_client import http_get
from connectors.native.process import free_port
from connectors.native.xds import atomic_write
from tests.kube_emulator import KubeEmulator
from tests.native_support import require_envoy
from tests.waiting import wait_until as wait_for

ROUTE_CONFIG_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
ROUTE_CONFIG = "http.8080"
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"

Json = dict[str, Any]


def bootstrap(
    admin_port: int,
    listen_port: int,
    rds_path: Path,
    clusters: list[Json] | None = None,
    filters: list[Json] | None = None,
) -> Json:
    """A proxy with one listener whose routes come from `rds_path` (and static `clusters`, and HTTP
    `filters` before the router)."""
    hcm = {
        "@type": _HCM,
        "stat_prefix": "gateway",
        "rds": {
            "route_config_name": ROUTE_CONFIG,
            "config_source": {"path_config_source": {"path": str(rds_path)}},
        },
        "http_filters": [
            *(filters or []),
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}},
        ],
    }
    listener = {
        "name": "gateway",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen_port}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }
    return {
        "node": {"id": "gateway-pod", "cluster": "gateway"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": [listener], "clusters": clusters or []},
    }


def route_configuration(routes: list[Json], version: str) -> str:
    config = {
        "@type": ROUTE_CONFIG_TYPE,
        "name": ROUTE_CONFIG,
        "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}],
    }
    return json.dumps({"version_info": version, "resources": [config]})


@dataclass
class GatewayPod:
    """One gateway pod played by a real Envoy."""

    namespace: str
    name: str
    admin_port: int
    rds_path: Path
    process: subprocess.Popen[bytes]
    version: int = 0
    listen_port: int = 0

    @property
    def url(self) -> str:
        """Where clients reach this proxy's listener."""
        return f"http://127.0.0.1:{self.listen_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def serve(self, routes: list[Json]) -> None:
        """Push `routes` to this proxy and wait until Envoy reports the new version."""
        self.version += 1
        atomic_write(self.rds_path, route_configuration(routes, str(self.version)))
        wanted = str(self.version)

        def holds() -> bool:
            dump = http_get(
                f"{self.admin_url}/config_dump", params={"resource": "dynamic_route_configs"}, timeout=5
            )
            versions = [c.get("version_info") for c in dump.json().get("configs", [])]
            return wanted in versions

        wait_for(holds, timeout=20, what=f"{self.name} to load route version {wanted}")


@dataclass
class GatewayPods:
    emulator: KubeEmulator
    root: Path
    pods: list[GatewayPod] = field(default_factory=list)

    def start(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        container: str,
        admin_port: int,
        routes: list[Json],
        clusters: list[Json] | None = None,
        filters: list[Json] | None = None,
    ) -> GatewayPod:
        """Start an Envoy holding `routes` (and `clusters`), add the Pod object, and map its
        `admin_port` to the Envoy."""
        envoy = require_envoy()
        directory = self.root / name
        directory.mkdir(parents=True)
        rds = directory / "rds.json"
        atomic_write(rds, route_configuration(routes, "0"))
        config = directory / "envoy.json"
        local_admin, listen = free_port(), free_port()
        config.write_text(json.dumps(bootstrap(local_admin, listen, rds, clusters, filters)))
        with (directory / "envoy.out").open("wb") as out:
            process = subprocess.Popen(
                [envoy, "-c", str(config), "--disable-hot-restart", "--log-level", "warning"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        pod = GatewayPod(namespace, name, local_admin, rds, process, listen_port=listen)
        self.pods.append(pod)

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"Envoy exited: {(directory / 'envoy.out').read_text()[-2000:]}")
            try:
                return http_get(f"{pod.admin_url}/ready", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=30, what=f"Envoy of {name} to be ready")
        self.emulator.put_object(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"containers": [{"name": container, "image": "envoyproxy/envoy"}]},
                "status": {"phase": "Running", "podIP": "127.0.0.1"},
            }
        )
        self.emulator.set_pod_proxy(namespace, name, admin_port, pod.admin_url)
        return pod

    def stop_all(self) -> None:
        for pod in self.pods:
            if pod.process.poll() is None:
                pod.process.terminate()
        for pod in self.pods:
            try:
                pod.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pod.process.kill()
                pod.process.wait(timeout=10)


@pytest.fixture
def gateway_pods(kube_emulator: KubeEmulator, tmp_path: Path) -> Iterator[GatewayPods]:
    pods = GatewayPods(kube_emulator, tmp_path / "gateway-pods")
    try:
        yield pods
    finally:
        pods.stop_all()
