"""A small real HTTP backend that says who it is: the demo's v1/v2 and the tests' upstreams.

Every response is JSON ``{"backend": name, "method", "path", "headers"}`` with the header
``x-backend: name``. ``fail_rate`` (0..1) makes that share of requests answer 500 and ``delay``
adds latency, so a canary can be made to misbehave while it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: with Nagle on, keep-alive clients wait ~40 ms
    # for a delayed ACK on every request.
    disable_nagle_algorithm = True

    def _answer(self) -> None:
        backend = self.server.backend
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        with backend.lock:
            backend.requests += 1
            backend.paths[self.path] = backend.paths.get(self.path, 0) + 1
            backend.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
            del backend.seen_headers[:-50]
        if backend.delay:
            time.sleep(backend.delay)
        failed = backend.fail_rate > 0 and random.random() < backend.fail_rate
        status = 500 if failed else 200
        body = json.dumps(
            {"backend": backend.name, "method": self.command, "path": self.path, "status": status}
        ).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("x-backend", backend.name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo's console owns the terminal


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    backend: DemoBackend


class DemoBackend:
    """Serve on 127.0.0.1 in a background thread. ``port=0`` picks a free port."""

    def __init__(
        self, name: str, port: int = 0, *, fail_rate: float = 0.0, delay: float = 0.0, host: str = "127.0.0.1"
    ) -> None:
        self.name = name
        self.fail_rate = fail_rate
        self.delay = delay
        self.requests = 0
        self.paths: dict[str, int] = {}
        self.seen_headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.backend = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> DemoBackend:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"backend-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A demo HTTP backend that says who it is.")
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    backend = DemoBackend(args.name, args.port, fail_rate=args.fail_rate, delay=args.delay)
    print(backend.port, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        backend._server.serve_forever()


if __name__ == "__main__":
    main()
