"""Pytest plugin for the incident actions: the demo gateway's own YAML (connectors/demo/config.py) in
front of the test backends, and ``wait_until``.

Fixtures
    demo_gateway   module  a started, owned NativeConnector on the demo's config (its six routes)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from connectors.demo.config import demo_config_text
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.native_support import AUDIENCE, ISSUER, DemoBackends, JwtSigner, start_native_gateway


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


@pytest.fixture(scope="module")
def demo_gateway(
    tmp_path_factory: pytest.TempPathFactory, backends: DemoBackends, jwt_signer: JwtSigner
) -> Iterator[NativeConnector]:
    root = tmp_path_factory.mktemp("demo-gateway")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
        mp.setenv("GATEWAYCTL_CONFIG_DIR", str(root / "config-dir"))
        config = root / "demo.yaml"
        config.write_text(
            demo_config_text(
                listener_port=free_port(),
                v1=backends.v1.address,
                v2=backends.v2.address,
                jwks=jwt_signer.jwks,
                issuer=ISSUER,
                audience=AUDIENCE,
            ),
            encoding="utf-8",
        )
        gateway = start_native_gateway(config, root / "state")
        yield gateway
        gateway.close()
        gateway.stop()
