"""Pytest plugin for the incident actions: the demo gateway's own YAML (connectors/demo/config.py) in
front of the test backends, and ``wait_until``.

Fixtures
    demo_gateway   module  a started, owned NativeConnector on the demo's config (its six routes)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.demo.config import demo_config_text
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.native_support import AUDIENCE, ISSUER, DemoBackends, JwtSigner, start_native_gateway


@pytest.fixture(scope="module")
def demo_gateway(
    tmp_path_factory: pytest.TempPathFactory, backends: DemoBackends, jwt_signer: JwtSigner
) -> Iterator[NativeConnector]:
    root = tmp_path_factory.mktemp("demo-gateway")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
        mp.setenv("GATEWAYCTL_CONFIG_DIR", str(root / "config-dir"))
        config = root / "demo.yaml"
        config.write_text(
            demo_config_text(
                listener_port=free_port(),
                v1=backends.v1.address,
                v2=backends.v2.address,
                jwks=jwt_signer.jwks,
                issuer=ISSUER,
                audience=AUDIENCE,
            ),
            encoding="utf-8",
        )
        gateway = start_native_gateway(config, root / "state")
        yield gateway
        gateway.close()
        gateway.stop()


class _Handler(BaseHTTPRequestHandler):
    server: FailingServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.requests += 1
        if server.delay:
            time.sleep(server.delay)
        body = b'{"ok": false}' if server.status >= 500 else b'{"ok": true}'
        self.send_response(server.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FailingServer(ThreadingHTTPServer):
    """A backend that answers every request with ``status`` after ``delay`` seconds (5xx to get a
    host ejected, slow to fill the circuit breaker's slots)."""

    daemon_threads = True

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status, self.delay = status, delay
        self.requests = 0
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
