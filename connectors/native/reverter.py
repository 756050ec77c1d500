"""Who carries out a native gateway's time boxes: the supervisor ``up`` starts does it itself; the
demo starts a detached reverter (``connectors.change.reverter`` is the process) and stops it.
``unattended`` says when nothing will revert a due time box by itself."""

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
NO_REVERTER = "no reverter running: run gatewayctl-tui revert-expired, or restart with up"

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


def carrier(state_dir: Path) -> str:
    """What carries out this gateway's time boxes by itself (``the supervisor (pid N)``), or ''."""
    from .supervision import Supervision

    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        pid = 0
    if running(pid, MODULE.encode()):
        return f"the reverter (pid {pid})"
    sup = Supervision.read(state_dir)
    if sup is not None and sup.reverts and sup.alive:
        return f"the supervisor (pid {sup.pid})"
    return ""


def unattended(state_dir: Path) -> str:
    """Why a due time box of this gateway would not be reverted by itself, or ''."""
    return "" if carrier(state_dir) else NO_REVERTER
