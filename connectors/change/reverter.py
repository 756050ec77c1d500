"""Carrying out a native gateway's time-boxed changes when their time is up.

``watch(state_dir)`` reverts the time boxes whose time is up (``revert_expired``: through the change
pipeline, into the history) every second. Two processes run it: the **supervisor** ``up`` starts
(``connectors.change.supervise``, in a thread beside the Envoy it runs: one process, not two), and
for the demo, which has no supervisor, a detached reverter (``python -m
connectors.change.reverter STATE_DIR``; ``connectors.native.reverter`` starts and stops it, its pid
in ``reverter.pid``, its output in ``reverter.log``). The detached one ends when Envoy has been
gone for a while, when another reverter took over the pid file, or on SIGTERM — and says which in
its log. ``gatewayctl-tui revert-expired`` does one round of the same by hand (cron, a timer).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from types import FrameType

from ..errors import GatewayError
from .timebox import revert_expired

GONE_S = 15.0
"""How long Envoy may be away (a restart) before a detached reverter ends."""


def log(message: str) -> None:
    print(time.strftime("%Y-%m-%dT%H:%M:%S"), message, flush=True)


def _due(state_dir: Path, now: float) -> bool:
    """Whether a time box may be due (cheap: the file only, no connection to Envoy)."""
    from ..native.connector import TIMEBOX_FILE
    from ..timeboxes import FileTimeBoxes

    boxes = FileTimeBoxes(state_dir / TIMEBOX_FILE).boxes()
    return any(b.status in ("pending", "reverting") and b.due <= now for b in boxes)


def run_once(state_dir: Path) -> list[str]:
    """One round: revert what is due; a line per time box settled."""
    from ..native.connector import NativeConnector

    if not _due(state_dir, time.time()):
        return []
    connector = NativeConnector.attach(state_dir)
    try:
        return [f"{b.id} {b.status}: {b.description} {b.reason}".rstrip() for b in revert_expired(connector)]
    finally:
        connector.close()


def _envoy_alive(state_dir: Path) -> bool:
    from ..native.process import pid_alive
    from ..native.state import GatewayState

    try:
        return pid_alive(GatewayState.read(state_dir).pid)
    except GatewayError:
        return False


def _replaced(state_dir: Path) -> str:
    """Who took over the pid file (a later ``up`` or demo started a reverter), or ''."""
    from ..native.reverter import PID_FILE

    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return ""
    return f"another reverter (pid {pid}) took over" if pid != os.getpid() else ""


def _round(state_dir: Path) -> None:
    try:
        for line in run_once(state_dir):
            log(line)
    except Exception as exc:  # one failed round (Envoy restarting, a bad file) must not end the watch
        log(f"round failed: {type(exc).__name__}: {exc}")


def watch(
    state_dir: Path, interval: float = 1.0, stop: threading.Event | None = None, *, detached: bool = True
) -> str:
    """Run rounds every ``interval`` seconds until ``stop`` is set; a detached reverter also ends
    when Envoy is gone for good or another reverter took over. Returns why it ended."""
    stop = stop or threading.Event()
    gone_since: float | None = None
    while not stop.is_set():
        replaced = _replaced(state_dir) if detached else ""
        if replaced:
            return replaced
        if _envoy_alive(state_dir):
            gone_since = None
            _round(state_dir)
        elif detached:
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since > GONE_S:
                return f"Envoy of {state_dir} has been gone for {GONE_S:g} s"
        stop.wait(interval)
    return "asked to stop"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m connectors.change.reverter STATE_DIR", file=sys.stderr)
        return 2
    stop = threading.Event()
    why: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        why.append(f"{signal.Signals(signum).name} (down, or the demo stopping)")
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    log(f"reverter (pid {os.getpid()}) carries out the time boxes of {argv[0]}")
    try:
        ended = watch(Path(argv[0]), stop=stop)
    except BaseException:
        log(f"stopping: crashed:\n{traceback.format_exc()}")  # never an empty log
        raise
    log(f"stopping: {why[0] if why else ended}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
