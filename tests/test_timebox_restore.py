"""A time-boxed rate-limit change reverts exactly, whatever the old bucket.

New edits may not set a burst below the requests (``model.buckets``), but a revert puts back what
was: an operator's old limit of 50/s with a burst of 20 (written in the YAML by hand) comes back at
expiry, natively through the supervisor and on Kubernetes through ``revert-expired`` — never left
as "needs a decision". Real Envoy under ``up``; the Kubernetes API emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.model import RateLimit
from connectors.native import NativeConnector
from tests.kube_cold_manifests import istio_cold_fixture  # noqa: F401 - fixtures
from tests.kube_emulator import KubeEmulator
from tests.native_support import DemoBackends, JwtSigner, require_envoy, write_native_config
from tests.test_kube_support import Connect, connect_fixture, kube_state_fixture  # noqa: F401 - fixtures
from tests.test_native_supervisor import Up
from tests.waiting import wait_until
from tui.cli import main

OLD = "rate_limit: {requests: 50, interval: 1s, burst: 20}"


@pytest.fixture
def up(tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner) -> Iterator[Up]:
    require_envoy()
    config = write_native_config(tmp_path / "cfg", backends, jwt_signer, name="restores")
    text = config.read_text()
    assert "rate_limit: {requests: 5, interval: 1m, burst: 5}" in text
    config.write_text(text.replace("rate_limit: {requests: 5, interval: 1m, burst: 5}", OLD))
    gateway = Up(tmp_path, config, "rs")
    started = gateway.cli("up", str(config), "--name", "rs")
    try:
        assert started.returncode == 0, started.stderr
        yield gateway
    finally:
        gateway.kill_all()


def _limit(up: Up) -> RateLimit | None:
    connector = NativeConnector.attach(up.state_dir)
    try:
        return connector.get_route("limited").rate_limit
    finally:
        connector.close()


def test_the_supervisor_reverts_a_limit_to_a_burst_below_its_requests(up: Up) -> None:
    assert _limit(up) == RateLimit(50, 1.0, burst=20)
    done = up.cli(
        "set-rate-limit", "limited", "--requests", "5", "--burst", "5", "--for", "3s", "--gateway", "rs"
    )
    assert done.returncode == 0, done.stderr
    assert _limit(up) == RateLimit(5, 1.0, burst=5)

    def boxes() -> str:
        listed = up.cli("revert-expired", "--list", "--gateway", "rs")
        return str(listed.stdout) + str(listed.stderr)

    wait_until(lambda: _limit(up) == RateLimit(50, 1.0, burst=20), 25, what="the supervisor's revert")
    assert OLD in up.config.read_text()
    history = json.loads(up.cli("history", "-o", "json", "--gateway", "rs").stdout)
    assert history[-1]["action"] == "undo" and history[-1]["description"].startswith("revert after 3s: ")
    assert "NEEDS A DECISION" not in boxes() and "refused" not in boxes()
    assert "needs" not in (up.state_dir / "supervisor.log").read_text().lower()
