"""A gateway that looks after itself: ``up`` runs Envoy under this small supervisor.

``python -m connectors.change.supervise --config X --state-dir D`` is a detached process (spawned
by ``connectors.process``, its own session) that starts Envoy as its child and waits on it. When
Envoy dies it says why (``Envoy (pid N) was killed by SIGKILL``) in ``supervisor.json`` and
``supervisor.log``, waits (0.5 s, doubling up to 30 s; back to 0.5 s once Envoy ran a minute) and
starts it again **from the files it served** (bootstrap and xDS on disk, never re-rendered from a
YAML that may have been edited by hand since). SIGTERM (``down``) stops Envoy, then the supervisor.
``up`` starts it as ``python -m connectors.change.supervise``, which adds the gateway's time-box
reverter in a thread (``reverts`` in ``supervisor.json``): one process beside Envoy, not two.

Envoy is *owned* by the supervisor: it dies with it, so there is never an Envoy nobody watches.
``supervisor.json`` is written by the supervisor alone: ``status`` is ``starting``, ``running``,
``restarting`` or ``stopped``, with the ``reason``, the number of ``restarts`` and the last exit.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from ..errors import GatewayError, ProcessStartFailed
from ..process import spawn
from .supervision import ENTRY, STATUS_FILE, Supervision, supervisor_alive

if TYPE_CHECKING:
    from .connector import NativeConnector

LOG_FILE = "supervisor.log"
FIRST_DELAY, MAX_DELAY, STABLE_S = 0.5, 30.0, 60.0
Sidecar = Callable[[Path, threading.Event], object]
"""Work the supervisor runs in a thread beside Envoy until it stops (the time-box reverter)."""
_LOG_TAIL = re.compile(r": \[\d{4}-\d\d-\d\d [^\]]*\]\[.*$")

__all__ = ["LOG_FILE", "STATUS_FILE", "Supervision", "main", "spawn_supervisor", "stop_supervisor"]


def _log(message: str) -> None:
    """One line in ``supervisor.log`` (the supervisor's stdout is appended there)."""
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {message}", flush=True)


class _Backoff:
    def __init__(self) -> None:
        self.delay = FIRST_DELAY

    def next(self, ran_s: float) -> float:
        if ran_s >= STABLE_S:
            self.delay = FIRST_DELAY
        delay, self.delay = self.delay, min(MAX_DELAY, self.delay * 2)
        return delay


def _supervise(
    state_dir: Path, config: Path, stats_port: int, stop: threading.Event, sidecar: Sidecar | None
) -> int:
    from .connector import NativeConnector

    status = Supervision(pid=os.getpid())
    status.write(state_dir, "starting")
    try:
        gateway = NativeConnector.start(config, state_dir, stats_port=stats_port, owned=True)
    except GatewayError as exc:
        _log(f"Envoy did not start: {exc}")
        status.write(state_dir, "stopped", f"start failed: {exc}")
        return 1
    _log(f"Envoy (pid {gateway.pid}) serves {config}")
    status.reverts = sidecar is not None
    status.write(state_dir, "running")
    beside = _start_sidecar(sidecar, state_dir, stop) if sidecar is not None else None
    backoff = _Backoff()
    try:
        while not stop.is_set():
            proc, started = gateway.process, time.monotonic()
            while proc is not None and proc.poll() is None and not stop.is_set():
                stop.wait(0.1)
            if stop.is_set():
                break
            delay = backoff.next(time.monotonic() - started)
            if proc is not None:
                status.last_exit = gateway.health() or "Envoy exited"
                _log(f"{status.last_exit}; restarting in {delay:g}s")
                status.write(state_dir, "restarting", status.last_exit)
            else:  # the last restart failed: its reason (in status.reason) stands
                _log(f"retrying in {delay:g}s")
            if stop.wait(delay):
                break
            _relaunch(gateway, status, state_dir)
    finally:
        stop.set()
        if beside is not None:
            beside.join(10)  # a revert under way ends before Envoy does
        gateway.stop()
        gateway.close()
    _log("stopped on request")
    status.write(state_dir, "stopped", "stopped on request (down)")
    return 0


def _start_sidecar(sidecar: Sidecar, state_dir: Path, stop: threading.Event) -> threading.Thread:
    """The time-box reverter, in a thread beside Envoy until the supervisor stops."""

    def run() -> None:
        try:
            sidecar(state_dir, stop)
        except BaseException as exc:  # said in the log; Envoy keeps being supervised
            _log(f"time box: the reverter thread stopped: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=run, name="reverter", daemon=True)
    thread.start()
    return thread


def _relaunch(gateway: NativeConnector, status: Supervision, state_dir: Path) -> None:
    try:
        gateway.relaunch()
    except GatewayError as exc:
        why = _LOG_TAIL.sub("", str(exc))  # the reason, without Envoy's log lines quoted after it
        _log(f"restart failed: {why}")
        status.write(state_dir, "restarting", f"{status.last_exit}; restart failed: {why}")
        return
    status.restarts += 1
    _log(f"Envoy restarted (pid {gateway.pid}) after: {status.last_exit}")
    status.write(state_dir, "running", f"restarted after: {status.last_exit}")


def main(argv: list[str] | None = None, sidecar: Sidecar | None = None) -> int:
    """The supervisor process; ``sidecar`` runs beside Envoy (``connectors.change.supervise`` passes
    the time-box reverter: this floor cannot import the change pipeline)."""
    parser = argparse.ArgumentParser(prog=f"python -m {ENTRY}", description=__doc__)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--stats-port", type=int, default=0)
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    return _supervise(args.state_dir, args.config, args.stats_port, stop, sidecar)


# -- used by ``up`` / ``down`` -------------------------------------------------------------------


def spawn_supervisor(
    config: Path, state_dir: Path, stats_port: int = 0, timeout: float = 60.0
) -> Supervision:
    """Start a supervisor for the gateway in ``state_dir`` and wait until its Envoy serves (or
    raise ProcessStartFailed with the supervisor's reason)."""
    (state_dir / STATUS_FILE).unlink(missing_ok=True)
    command = [sys.executable, "-m", ENTRY, "--config", str(config), "--state-dir", str(state_dir)]
    if stats_port:
        command += ["--stats-port", str(stats_port)]
    try:
        proc = spawn(command, state_dir / LOG_FILE, owned=False, new_session=True)
    except OSError as exc:
        raise ProcessStartFailed(f"cannot start the supervisor: {exc.strerror or exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        status = Supervision.read(state_dir)
        if status is not None and status.pid == proc.pid and status.status == "running":
            return status
        if proc.poll() is not None:
            reason = status.reason if status is not None and status.pid == proc.pid else ""
            raise ProcessStartFailed(reason.removeprefix("start failed: ") or _log_tail(state_dir))
        if time.monotonic() > deadline:
            stop_supervisor(state_dir, proc.pid)
            raise ProcessStartFailed(f"the gateway did not start within {timeout:g}s")
        time.sleep(0.02)


def stop_supervisor(state_dir: Path, pid: int | None = None, grace: float = 15.0) -> bool:
    """SIGTERM the supervisor (it stops Envoy first) and wait until it is gone; SIGKILL after
    ``grace`` seconds (Envoy, owned, dies with it). False when none was running."""
    if pid is None:
        status = Supervision.read(state_dir)
        pid = status.pid if status is not None else 0
    if not supervisor_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while supervisor_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.02)
    return True


def _log_tail(state_dir: Path) -> str:
    try:
        lines = (state_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "the supervisor exited"
    return lines[-1] if lines else "the supervisor exited"


if __name__ == "__main__":
    raise SystemExit(main())
