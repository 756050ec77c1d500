"""The process beside a native gateway's Envoy that carries out its time-boxed changes.

There is no other supervisor: ``gatewayctl-tui up`` starts this one detached
(``python -m connectors.native.reverter STATE_DIR``, its pid in ``reverter.pid``, its output in
``reverter.log``) and ``down`` stops it; the demo runs the same loop in a thread. Every second it
reverts the time boxes whose time is up (``FileTimeBoxes.run_due``: through the change pipeline,
recorded in the history). It ends when Envoy has been gone for a while, or when another reverter
took over the pid file. ``gatewayctl-tui revert-expired`` does one round of the same by hand.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ..errors import GatewayError
from ..process import spawn
from .process import pid_alive
from .state import GatewayState

PID_FILE = "reverter.pid"
LOG_FILE = "reverter.log"
GONE_S = 15.0
"""How long Envoy may be away (a restart) before the reverter ends."""


def run_once(state_dir: Path) -> list[str]:
    """One round: revert what is due; a line per time box acted on."""
    from .connector import NativeConnector

    connector = NativeConnector.attach(state_dir)
    try:
        reverts = connector.change_hooks().reverts
        return [f"{b.id} {b.status}: {b.description} {b.reason}".rstrip() for b in reverts.run_due(connector)]
    finally:
        connector.close()


def _envoy_alive(state_dir: Path) -> bool:
    try:
        return pid_alive(GatewayState.read(state_dir).pid)
    except GatewayError:
        return False


def _replaced(state_dir: Path) -> bool:
    """Whether the pid file names another reverter (a later ``up`` started one)."""
    try:
        return int((state_dir / PID_FILE).read_text(encoding="utf-8").strip()) != os.getpid()
    except (OSError, ValueError):
        return False


def watch(
    state_dir: Path, interval: float = 1.0, stop: threading.Event | None = None, *, detached: bool = False
) -> None:
    """Run rounds every ``interval`` seconds until ``stop`` is set or Envoy is gone for good (or,
    ``detached``, another reverter took over)."""
    stop = stop or threading.Event()
    gone_since: float | None = None
    while not stop.is_set():
        if detached and _replaced(state_dir):
            return
        if _envoy_alive(state_dir):
            gone_since = None
            try:
                for line in run_once(state_dir):
                    print(time.strftime("%Y-%m-%dT%H:%M:%S"), line, flush=True)
            except (GatewayError, OSError) as exc:
                print(time.strftime("%Y-%m-%dT%H:%M:%S"), f"round failed: {exc}", flush=True)
        else:
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since > GONE_S:
                return
        stop.wait(interval)


def start_detached(state_dir: Path) -> int:
    """Start the reverter beside a detached gateway; its pid."""
    proc = spawn(
        [sys.executable, "-m", "connectors.native.reverter", str(state_dir)],
        state_dir / LOG_FILE,
        owned=False,
        new_session=True,
    )
    (state_dir / PID_FILE).write_text(f"{proc.pid}\n", encoding="utf-8")
    return proc.pid


def stop_detached(state_dir: Path) -> None:
    """Stop the reverter ``start_detached`` started for this gateway, if it runs."""
    path = state_dir / PID_FILE
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return
    path.unlink(missing_ok=True)
    cmdline = Path(f"/proc/{pid}/cmdline")
    with contextlib.suppress(OSError):
        if b"connectors.native.reverter" in cmdline.read_bytes():
            os.kill(pid, signal.SIGTERM)


class Reverter:
    """The same loop in a thread of this process (the demo, which owns its Envoy)."""

    def __init__(self, state_dir: Path, interval: float = 1.0) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=watch, args=(state_dir, interval, self._stop), name="reverter", daemon=True
        )

    def start(self) -> Reverter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m connectors.native.reverter STATE_DIR", file=sys.stderr)
        return 2
    state_dir = Path(argv[0])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    watch(state_dir, detached=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
