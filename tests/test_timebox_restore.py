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
from tests.kube_cold_manifests import ISTIO
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


@pytest.fixture(name="istio_old")
def istio_old_fixture(kube_emulator: KubeEmulator) -> KubeEmulator:
    """The cold Istio shop with its api route limited at 50/s, burst 20 (an operator's old filter)."""
    for namespace in ("istio-system", "shop", "other"):
        kube_emulator.create_namespace(namespace)
    bucket = "{max_tokens: 20, tokens_per_fill: 10, fill_interval: 1s}"
    assert ISTIO.count(bucket) == 1
    kube_emulator.load_manifests(
        ISTIO.replace(bucket, "{max_tokens: 20, tokens_per_fill: 50, fill_interval: 1s}")
    )
    return kube_emulator


def test_revert_expired_restores_a_kubernetes_limit_below_its_burst_rule(
    istio_old: KubeEmulator,
    connect: Connect,
    kubeconfig_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    assert connect(namespace="shop").get_route("api").rate_limit == RateLimit(50, 1.0, burst=20)

    def cli(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([*args, "--context", "emulator", "-n", "shop"])
        out, err = capsys.readouterr()
        return rc, out, err

    rc, out, err = cli("set-rate-limit", "api", "--requests", "5", "--burst", "5", "--for", "1s")
    assert rc == 0, out + err
    limit = connect(namespace="shop").get_route("api").rate_limit
    assert limit is not None and (limit.requests, limit.burst or limit.requests) == (5, 5)

    def settled() -> tuple[int, str, str] | None:
        r = cli("revert-expired")
        return r if "Reverted " in r[1] or "NEEDS A DECISION" in r[1] + r[2] else None

    rc, out, err = wait_until(settled, what="revert-expired settling the time box")
    assert "NEEDS A DECISION" not in out + err and rc == 0, out + err
    assert connect(namespace="shop").get_route("api").rate_limit == RateLimit(50, 1.0, burst=20)
    rc, out, _ = cli("history", "-o", "json")
    assert json.loads(out)[-1]["description"].startswith("revert after 1s: ")
