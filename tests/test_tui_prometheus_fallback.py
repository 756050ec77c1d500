"""A malformed --prometheus URL leaves the console with the gateway's own figures and a note saying why."""

from __future__ import annotations

from connectors.native import NativeConnector
from tui.live import open_metrics


def test_malformed_prometheus_url_falls_back_to_admin_stats(shared_native_gateway: NativeConnector) -> None:
    found = open_metrics(shared_native_gateway, "not a url")
    assert found.source is not None
    try:
        assert found.source.snapshot().source == "envoy-admin"
    finally:
        found.source.close()
    assert "not a url" in found.note and "gateway's own figures" in found.note
