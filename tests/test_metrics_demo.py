"""The demo's Prometheus: with the binary installed the demo starts one that scrapes its Envoy every
second and the console's Prometheus source sees the demo traffic; without it the demo runs on and
the banner says charts use Envoy's admin stats."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.demo.runner import DemoOptions, DemoRunner
from connectors.metrics import prometheus_source
from tests.native_support import require_envoy
from tests.prometheus_support import require_prometheus
from tests.waiting import wait_until


def _options(tmp_path: Path) -> DemoOptions:
    # Port 0 everywhere: any free port, so a running demo elsewhere does not matter.
    return DemoOptions(
        state_dir=tmp_path / "demo",
        listener_port=0,
        stats_port=0,
        backend_ports=(("v1", 0), ("v2", 0)),
        traffic_rate=20.0,
        burst_every=2.0,
    )


def test_the_demo_runs_a_prometheus_that_sees_its_traffic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_envoy()
    require_prometheus()
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    runner = DemoRunner(_options(tmp_path))
    try:
        ctx = runner.start()
        assert ctx.prometheus_url is not None and ctx.connector is not None
        assert any(line.strip().startswith(f"prometheus {ctx.prometheus_url}") for line in runner.banner())
        source = prometheus_source(ctx.prometheus_url, ctx.connector)
        assert source is not None
        try:
            snap = wait_until(
                lambda: (s := source.snapshot()).ok and s.gateway and s.gateway.rps > 0 and s,
                timeout=20,
                what="the demo traffic in Prometheus",
            )
            assert snap and source.rate_window_s == 4.0  # four of the demo's 1-second scrapes
        finally:
            source.close()
    finally:
        assert runner.stop() == []


def test_without_prometheus_the_demo_falls_back_to_admin_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_envoy()
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no prometheus on PATH
    runner = DemoRunner(_options(tmp_path))
    try:
        ctx = runner.start()
        assert ctx.prometheus_url is None
        assert "  prometheus not installed: charts use Envoy's admin stats" in runner.banner()
        assert ctx.connector is not None
        source = ctx.connector.metrics()
        assert source is not None and source.name == "envoy-admin"
        source.close()
    finally:
        assert runner.stop() == []
