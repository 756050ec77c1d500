"""Editing a route's rate limit through a real Envoy, with keep-alive clients under load: no client
sees an error (Envoy must not drain the listener for it) and another route's bucket keeps what its
clients already spent."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from connectors.change import Change
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.native_support import client
from tests.waiting import wait_until

DRAINING = "listener_manager.total_listeners_draining"
MAX_REQUESTS = 20_000  # per client: the load stops by itself even if the test does not


@dataclass
class KeepAliveClient:
    """One HTTP/1.1 connection reused for every request (http.client never retries or reconnects
    quietly, so a connection Envoy closes under it is an error the test sees)."""

    host: str
    port: int
    done: int = 0
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        while not self.stop.is_set() and self.done < MAX_REQUESTS:
            try:
                conn.request("GET", "/", headers={"host": "v2.test"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    self.errors.append(f"status {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
            self.done += 1
        conn.close()


@pytest.fixture
def load(native_gateway: NativeConnector) -> Iterator[list[KeepAliveClient]]:
    host, _, port = native_gateway.listener_url().removeprefix("http://").rpartition(":")
    clients = [KeepAliveClient(host, int(port)) for _ in range(4)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    for t in threads:
        t.start()
    yield clients
    for c in clients:
        c.stop.set()
    for t in threads:
        t.join(timeout=10)


def _stat(gw: NativeConnector, name: str) -> int:
    return int(gw.admin.stats(f"^{name.replace('.', '[.]')}$").get(name) or 0)


def _wait_for_more_requests(load: list[KeepAliveClient], n: int) -> None:
    marks = [c.done for c in load]
    wait_until(lambda: all(c.done >= m + n for c, m in zip(load, marks, strict=True)), what="more requests")


def test_limit_edits_drop_no_keep_alive_connection_and_keep_other_buckets(
    native_gateway: NativeConnector, load: list[KeepAliveClient]
) -> None:
    gw = native_gateway
    # A second limited route (its first limit may add a limiter to the listener: not measured).
    first = gw.plan([set_rate_limit(gw.get_route("host-v1"), RateLimit(requests=100, interval=1))])
    assert Change(gw).apply(first).verification.ok
    wait_until(lambda: _stat(gw, DRAINING) == 0, what="no draining listener")
    with client(gw) as http:  # spend 3 of limited's 5 tokens
        assert [http.get("/", headers={"host": "limited.test"}).status_code for _ in range(3)] == [200] * 3
    for each in load:
        each.errors.clear()
    lds_before = _stat(gw, "listener_manager.lds.update_success")
    for requests in (150, 200, 250):
        plan = gw.plan([set_rate_limit(gw.get_route("host-v1"), RateLimit(requests=requests, interval=1))])
        assert any("host-v1" in w and "starts full again" in w for w in plan.warnings), plan.warnings
        assert not any("every rate-limit bucket" in w for w in plan.warnings), plan.warnings
        result = Change(gw).apply(plan)
        assert result.verification.ok, result.verification.details
        # Keep the load on until a listener drained for the edit would have closed its connections
        # (Envoy's drain time is 1 s), as between an operator's edits.
        wait_until(lambda: _stat(gw, DRAINING) == 0, what="no draining listener")
        _wait_for_more_requests(load, 50)
    assert [e for c in load for e in c.errors] == []
    assert _stat(gw, "listener_manager.lds.update_success") == lds_before, "a limit edit rewrote the listener"
    with client(gw) as http:  # limited's bucket was not refilled: 2 tokens left
        assert [http.get("/", headers={"host": "limited.test"}).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
