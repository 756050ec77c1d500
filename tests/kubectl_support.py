"""The real `kubectl` against the Kubernetes API emulator (fixtures; no tests here).

`kubectl(*args, context=None, stdin=None)` runs the binary with the emulator's kubeconfig and a cache
directory of its own, and returns the finished process. A machine without kubectl skips these tests
with the reason; under `CI=true` they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kube_emulator import KubeEmulator

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
TIMEOUT_S = 60


def kubectl_binary() -> str:
    found = shutil.which("kubectl")
    if found:
        return found
    reason = "kubectl is not installed (needed to test the emulator with the real client)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def kubectl(kube_emulator: KubeEmulator, kubeconfig_path: Path, tmp_path: Path) -> Kubectl:
    binary = kubectl_binary()
    home = tmp_path / "kubectl-home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(kubeconfig_path)}

    def run(
        *args: str, context: str | None = None, stdin: str | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        command = [binary, "--cache-dir", str(home / "cache"), *(["--context", context] if context else [])]
        done = subprocess.run(
            [*command, *args], input=stdin, capture_output=True, text=True, env=env, timeout=TIMEOUT_S
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} -> {done.returncode}\n{done.stderr}")
        return done

    return run
