"""Latency percentiles follow traffic within a couple of polls (Envoy flushes histograms every second)."""

from __future__ import annotations

from connectors.http_client import http_client
from connectors.metrics import metrics_for
from connectors.native import NativeConnector
from tests.waiting import wait_until


def test_p99_appears_within_two_seconds_of_traffic(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    source = metrics_for(gw)
    assert source is not None
    try:
        source.snapshot()  # the baseline the next snapshot's deltas are taken from
        base, host = gw.traffic_url(gw.get_route("host-v2")) or ("", "")
        with http_client(timeout=5) as client:
            for _ in range(40):
                assert client.get(base + "/", headers={"host": host}).status_code == 200

        def p99() -> float | None:
            stats = source.snapshot().routes.get("host-v2")
            return stats.p99_ms if stats is not None else None

        assert wait_until(p99, 2.5, every=0.5, what="a p99 for host-v2") > 0
    finally:
        source.close()
