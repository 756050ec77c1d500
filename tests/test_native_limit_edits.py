"""Editing a route's rate limit through a real Envoy, with keep-alive clients under load: no client
sees an error (Envoy must not drain the listener for it) and another route's bucket keeps what its
clients already spent."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

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


class Load:
    """Four keep-alive clients on their own threads, started when the test says."""

    def __init__(self, gw: NativeConnector) -> None:
        host, _, port = gw.listener_url().removeprefix("http://").rpartition(":")
        self.clients = [KeepAliveClient(host, int(port)) for _ in range(4)]
        self._threads = [threading.Thread(target=c.run, daemon=True) for c in self.clients]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        for c in self.clients:
            c.stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=10)

    def errors(self) -> list[str]:
        return [e for c in self.clients for e in c.errors]

    def wait_for_more_requests(self, n: int) -> None:
        marks = [c.done for c in self.clients]
        clients = self.clients
        wait_until(lambda: all(c.done >= m + n for c, m in zip(clients, marks, strict=True)), what="requests")


@pytest.fixture
def load(native_gateway: NativeConnector) -> Iterator[Load]:
    running = Load(native_gateway)
    yield running
    running.stop()


def _stat(gw: NativeConnector, name: str) -> int:
    return int(gw.admin.stats(f"^{name.replace('.', '[.]')}$").get(name) or 0)


def _draining(gw: NativeConnector) -> int:
    """Listeners and filter chains Envoy is draining (a filter-chain-only listener update drains
    the old chains in place)."""
    stats = gw.admin.stats(r"^listener_manager\.total_(listeners|filter_chains)_draining$")
    return sum(int(v or 0) for v in stats.values())


def _settle_listener_update(gw: NativeConnector) -> None:
    """After a change that rewrote the listener: its drain (1 s here) starts, then ends."""
    wait_until(lambda: _draining(gw) > 0, what="the old listener to drain")
    wait_until(lambda: _draining(gw) == 0, what="the drain to end")


def _codes(gw: NativeConnector, host: str, n: int) -> list[int]:
    with client(gw) as http:
        return [http.get("/", headers={"host": host}).status_code for _ in range(n)]


def test_limit_edits_drop_no_keep_alive_connection_and_keep_other_buckets(
    native_gateway: NativeConnector, load: Load
) -> None:
    gw = native_gateway
    # A second limited route (its first limit adds a limiter to the listener: before the load),
    # and limited's 5 a minute made 5 an hour (Envoy refills continuously: a token every 12 s).
    first = gw.plan(
        [
            set_rate_limit(gw.get_route("host-v1"), RateLimit(requests=100, interval=1)),
            set_rate_limit(gw.get_route("limited"), RateLimit(requests=5, interval=3600)),
        ]
    )
    assert any("rewrites the listener" in w for w in first.warnings), first.warnings
    assert Change(gw).apply(first).verification.ok
    _settle_listener_update(gw)
    assert _codes(gw, "limited.test", 3) == [200] * 3  # 2 of limited's 5 tokens left
    load.start()
    lds_before = _stat(gw, "listener_manager.lds.update_success")
    for requests in (150, 200, 250):
        plan = gw.plan([set_rate_limit(gw.get_route("host-v1"), RateLimit(requests=requests, interval=1))])
        assert [w for w in plan.warnings if "bucket" in w] == [
            "rate limit of route host-v1: its bucket starts full again; every other route's bucket is "
            "kept, and no connection is dropped (the limit is its own ECDS resource: the listener is "
            "not rewritten)"
        ]
        result = Change(gw).apply(plan)
        assert result.verification.ok, result.verification.details
        # Keep the load on past a drain the edit would have started, as between an operator's edits.
        wait_until(lambda: _draining(gw) == 0, what="no draining listener")
        load.wait_for_more_requests(50)
    assert load.errors() == []
    assert _stat(gw, "listener_manager.lds.update_success") == lds_before, "a limit edit rewrote the listener"
    assert _codes(gw, "limited.test", 3) == [200, 200, 429]  # limited's bucket was not refilled
    assert _codes(gw, "v1.test", 3) == [200] * 3  # host-v1 at 250 a second


def test_switching_a_limit_off_and_on_keeps_its_bucket_and_the_listener(
    native_gateway: NativeConnector,
) -> None:
    """Off and on again is a routes push: the limiter and its bucket stay as they were."""
    gw = native_gateway
    slow = set_rate_limit(gw.get_route("limited"), RateLimit(requests=5, interval=3600))
    assert Change(gw).apply(gw.plan([slow])).verification.ok
    assert _codes(gw, "limited.test", 3) == [200] * 3
    lds_before = _stat(gw, "listener_manager.lds.update_success")
    off = gw.plan([replace(gw.get_route("limited"), rate_limit=RateLimit(5, 3600, enabled=False))])
    assert not any("(LDS)" in c.label for c in off.native_changes) and off.warnings == ()
    assert Change(gw).apply(off).verification.ok
    assert _codes(gw, "limited.test", 6) == [200] * 6  # not limited while off, and nothing spent
    on = gw.plan([replace(gw.get_route("limited"), rate_limit=RateLimit(5, 3600))])
    assert not any("starts full again" in w for w in on.warnings)
    assert Change(gw).apply(on).verification.ok
    assert _codes(gw, "limited.test", 3) == [200, 200, 429]
    assert _stat(gw, "listener_manager.lds.update_success") == lds_before


def test_a_first_limit_and_its_removal_rewrite_the_listener_and_the_plan_names_every_bucket(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    plan = gw.plan([set_rate_limit(gw.get_route("host-v1"), RateLimit(requests=3, interval=60))])
    labels = [c.label for c in plan.native_changes]
    assert "listeners/main/rate limiters (LDS)" in labels and "rate_limit/host-v1 (ECDS)" in labels
    assert [w for w in plan.warnings if "bucket" in w] == [
        "this change rewrites the listener (host-v1 gains a rate limiter): every rate-limit bucket starts "
        "full again (host-v1, limited); "
        "Envoy closes keep-alive connections within about 1 s (keep-alive connections keep their old "
        "buckets until they close)"
    ]
    assert Change(gw).apply(plan).verification.ok
    assert _codes(gw, "v1.test", 4) == [200, 200, 200, 429]
    removal = gw.plan([replace(gw.get_route("host-v1"), rate_limit=None)])
    assert "listeners/main/rate limiters (LDS)" in [c.label for c in removal.native_changes]
    assert any(
        w.startswith(
            "this change rewrites the listener (host-v1 loses its rate limiter): every rate-limit "
            "bucket starts full again (limited);"
        )
        for w in removal.warnings
    ), removal.warnings
    assert Change(gw).apply(removal).verification.ok
    assert _codes(gw, "v1.test", 5) == [200] * 5
    assert not gw.layout.limit("host-v1").exists()
