"""The canary route of the shared native gateway, put back after each test (``restore_canary``, or
``gw`` for the gateway itself), and a weight change made from another process (as a colleague
would). Loaded for every test module by ``conftest.py``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from connectors.canary_state import CanaryStateStore
from connectors.change import Change
from connectors.native import NativeConnector
from tests.native_support import DemoBackends


@pytest.fixture
def restore_canary(shared_native_gateway: NativeConnector, backends: DemoBackends) -> Iterator[None]:
    """After the test: the canary route's weights as before, the backends answering normally again
    and no canary run left on it."""
    gw = shared_native_gateway
    before = gw.get_route("canary")
    yield
    backends.reset()
    CanaryStateStore(gw.info().title).clear("canary")
    plan = gw.plan([before])
    if not plan.is_empty:
        Change(gw).apply(plan)


@pytest.fixture
def gw(shared_native_gateway: NativeConnector, restore_canary: None) -> NativeConnector:
    """The shared gateway, its canary route put back after the test."""
    return shared_native_gateway


def set_weights_elsewhere(gw: NativeConnector, *weights: str) -> None:
    """``set-weights canary ...`` from another process, as a colleague would."""
    argv = [sys.executable, "-m", "tui", "set-weights", "canary", *weights, "--gateway", str(gw.state_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
