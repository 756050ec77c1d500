"""The canary route of the shared native gateway, put back after each test, and a weight change made
from another process (as a colleague would), for the canary test modules."""

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
def gw(shared_native_gateway: NativeConnector, backends: DemoBackends) -> Iterator[NativeConnector]:
    gw = shared_native_gateway
    before = gw.get_route("canary")
    yield gw
    backends.reset()
    CanaryStateStore(gw.info().title).clear("canary")
    plan = gw.plan([before])
    if not plan.is_empty:
        Change(gw).apply(plan)


def set_weights_elsewhere(gw: NativeConnector, *weights: str) -> None:
    """``set-weights canary ...`` from another process, as a colleague would."""
    argv = [sys.executable, "-m", "tui", "set-weights", "canary", *weights, "--gateway", str(gw.state_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
