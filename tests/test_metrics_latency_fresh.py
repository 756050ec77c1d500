"""Latency percentiles follow traffic within a couple of polls (Envoy flushes histograms every second)."""

from __future__ import annotations

import time

import httpx

from connectors.metrics import metrics_for
from connectors.native import NativeConnector


def test_p99_appears_within_two_seconds_of_traffic(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    source = metrics_for(gw)
    assert source is not None
    try:
        source.snapshot()  # the baseline the next snapshot's deltas are taken from
        base, host = gw.traffic_url(gw.get_route("host-v2")) or ("", "")
        with httpx.Client(timeout=5) as client:
            for _ in range(40):
                assert client.get(base + "/", headers={"host": host}).status_code == 200
        deadline = time.monotonic() + 2.5
        p99 = None
        while p99 is None and time.monotonic() < deadline:
            time.sleep(0.5)
            stats = source.snapshot().routes.get("host-v2")
            p99 = stats.p99_ms if stats is not None else None
        assert p99 is not None and p99 > 0
    finally:
        source.close()
