"""The process beside a native gateway's Envoy that carries out its time-boxed changes.

There is no other supervisor: ``gatewayctl-tui up`` (and the demo) start this one detached
(``python -m connectors.change.reverter STATE_DIR``; ``connectors.native.reverter`` starts and stops
it, its pid in ``reverter.pid``, its output in ``reverter.log``). Every second it reverts the time
boxes whose time is up (``revert_expired``: through the change pipeline, into the history). It ends
when Envoy has been gone for a while, or when another reverter took over the pid file.
``gatewayctl-tui revert-expired`` does one round of the same by hand (cron, a systemd timer).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from ..errors import GatewayError
from .timebox import revert_expired

GONE_S = 15.0
"""How long Envoy may be away (a restart) before the reverter ends."""


def run_once(state_dir: Path) -> list[str]:
    """One round: revert what is due; a line per time box settled."""
    from ..native.connector import NativeConnector

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


def _replaced(state_dir: Path) -> bool:
    """Whether the pid file names another reverter (a later ``up`` started one)."""
    from ..native.reverter import PID_FILE

    try:
        return int((state_dir / PID_FILE).read_text(encoding="utf-8").strip()) != os.getpid()
    except (OSError, ValueError):
        return False


def watch(state_dir: Path, interval: float = 1.0, stop: threading.Event | None = None) -> None:
    """Run rounds every ``interval`` seconds until ``stop`` is set, Envoy is gone for good or
    another reverter took over."""
    stop = stop or threading.Event()
    gone_since: float | None = None
    while not stop.is_set() and not _replaced(state_dir):
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


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m connectors.change.reverter STATE_DIR", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    watch(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
