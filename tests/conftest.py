"""Shared pytest plugins: each capability keeps its fixtures in its own module, listed here."""

from __future__ import annotations

import os
import tempfile

pytest_plugins: list[str] = [
    "tests.kube_emulator.fixtures",
    "tests.native_support",
    "tests.incident_support",
    "tests.prometheus_support",
]

# The console caches parsed YAML under the user's cache directory; tests (and the processes they
# start, which inherit the environment) keep theirs out of the home directory.
os.environ.setdefault("GATEWAYCTL_CACHE_DIR", tempfile.mkdtemp(prefix="gatewayctl-test-cache-"))
