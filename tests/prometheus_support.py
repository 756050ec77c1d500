"""Pytest plugin: a real Prometheus (Debian's /usr/bin/prometheus) and real traffic for metrics tests.

Fixtures
    prometheus        module    a running PrometheusProcess scraping nothing yet (1 s interval);
                                ``prometheus.set_targets([admin host:port])`` to scrape a gateway
    auth_proxy        function  a real HTTP proxy in front of ``prometheus`` that answers 401
                                unless the request carries ``Authorization: Bearer <auth_proxy.token>``

Helpers
    require_prometheus()   the binary, or fail (CI=true) / skip with the reason
    Traffic                a paced request loop in a thread: ``with Traffic(url, host, rps): ...``
    envoy_counters()       Envoy's own counters from its admin endpoint, to compare against
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from connectors.demo.prometheus import PrometheusProcess, find_prometheus
from connectors.http_client import http_client
from connectors.metrics_contract import admin_http


def require_prometheus() -> str:
    binary = find_prometheus()
    if binary is None:
        reason = "prometheus is not installed (Debian package 'prometheus' provides /usr/bin/prometheus)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Prometheus is required under CI: {reason}")
        pytest.skip(reason)
    return binary


def admin_target(stats_url: str) -> str:
    """The Prometheus target (``host:port``) of a gateway's loopback stats listener."""
    parts = urlsplit(stats_url)
    return f"{parts.hostname}:{parts.port}"


def envoy_counters(admin_url: str, pattern: str) -> dict[str, float]:
    """Envoy's counters whose names match ``pattern`` (RE2), straight from the admin endpoint
    (``http://`` or the native gateway's ``unix:`` socket)."""
    client, base = admin_http(admin_url, 5.0)
    with client as c:
        data = c.get(base + "/stats", params={"format": "json", "filter": pattern}).json()
    return {s["name"]: float(s["value"]) for s in data.get("stats", []) if "value" in s}


def counter_sum(admin_url: str, pattern: str) -> float:
    return sum(envoy_counters(admin_url, pattern).values())


class Traffic:
    """Sends GET requests to ``base_url`` with Host ``host`` at about ``rps`` per second in a thread.
    ``statuses`` counts what came back; ``headers`` go on every request."""

    def __init__(
        self, base_url: str, host: str, rps: float, headers: Mapping[str, str] | None = None
    ) -> None:
        self.base_url = base_url
        self.host = host
        self.rps = rps
        self.headers = {"host": host, **(headers or {})}
        self.statuses: Counter[int] = Counter()
        self.backends: Counter[str] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"traffic-{host}", daemon=True)

    def _run(self) -> None:
        period = 1.0 / self.rps
        with http_client(base_url=self.base_url, timeout=5.0) as c:
            next_at = time.monotonic()
            while not self._stop.is_set():
                try:
                    r = c.get("/", headers=self.headers)
                except httpx.HTTPError:
                    code, backend = 0, ""
                else:
                    code, backend = r.status_code, r.headers.get("x-backend", "")
                with self._lock:
                    self.statuses[code] += 1
                    if backend:
                        self.backends[backend] += 1
                next_at += period
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def snapshot(self) -> tuple[Counter[int], Counter[str]]:
        with self._lock:
            return Counter(self.statuses), Counter(self.backends)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def prometheus() -> Iterator[PrometheusProcess]:
    binary = require_prometheus()
    proc = PrometheusProcess([], scrape_interval=1.0, binary=binary)
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()


class _AuthHandler(BaseHTTPRequestHandler):
    server: _AuthServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        time.sleep(self.server.delay)
        if (
            self.server.token is not None
            and self.headers.get("authorization") != f"Bearer {self.server.token}"
        ):
            body = b'{"status":"error","error":"unauthorized"}'
            self.send_response(401)
            self.send_header("www-authenticate", 'Bearer realm="prometheus"')
        else:
            upstream = self.server.client.get(self.server.upstream + self.path)
            body = upstream.content
            self.send_response(upstream.status_code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _AuthServer(ThreadingHTTPServer):
    daemon_threads = True
    upstream: str
    token: str | None
    delay: float
    client: httpx.Client


class AuthProxy:
    """A real HTTP proxy to Prometheus that demands ``token`` (None: no auth) and answers after
    ``delay`` seconds (a slow Prometheus)."""

    def __init__(self, upstream: str, token: str | None, delay: float = 0.0) -> None:
        self.token = token
        self._server = _AuthServer(("127.0.0.1", 0), _AuthHandler)
        self._server.upstream, self._server.token = upstream.rstrip("/"), token
        self._server.delay = delay
        self._server.client = http_client(timeout=10.0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="auth-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.client.close()
        self._thread.join(timeout=5)


@pytest.fixture
def auth_proxy(prometheus: PrometheusProcess) -> Iterator[AuthProxy]:
    proxy = AuthProxy(prometheus.url, token="s3cr3t-" + re.sub(r"\W", "", str(time.time())))
    yield proxy
    proxy.close()
