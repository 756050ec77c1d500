"""Starting and stopping the reverter beside a native gateway's Envoy (``connectors.change.reverter``
is the process itself): ``up`` and the demo start it detached, ``down`` and the demo stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..process import running, spawn
from .xds import atomic_write

PID_FILE = "reverter.pid"
LOG_FILE = "reverter.log"
MODULE = "connectors.change.reverter"

# Reverters this process started, kept so that stopping one also reaps it (a Popen dropped while its
# child runs is a leak the interpreter warns about).
_STARTED: dict[Path, subprocess.Popen[bytes]] = {}


def start_detached(state_dir: Path) -> int:
    """Start the reverter for the gateway in ``state_dir``; its pid (a previous one steps aside)."""
    proc = spawn(
        [sys.executable, "-m", MODULE, str(state_dir)], state_dir / LOG_FILE, owned=False, new_session=True
    )
    atomic_write(state_dir / PID_FILE, f"{proc.pid}\n")  # 0600, like every state file
    _STARTED[state_dir] = proc
    return proc.pid


def stop_detached(state_dir: Path) -> None:
    """Stop the reverter ``start_detached`` started for this gateway, if it runs."""
    path = state_dir / PID_FILE
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        if running(pid, MODULE.encode()):  # this user's reverter, not whatever a planted file names
            os.kill(pid, signal.SIGTERM)
    proc = _STARTED.pop(state_dir, None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
