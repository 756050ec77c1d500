"""Starting and stopping the child processes this tool runs: a native gateway's Envoy, the demo's
Prometheus. One place, so both get the same guarantees:

* an *owned* child dies with this process, even on SIGKILL (``PR_SET_PDEATHSIG``). The signal
  follows the *thread* that forked the child, so owned children are forked from one daemon thread
  that lives as long as the process;
* a *detached* child (``new_session``) outlives it (``gatewayctl-tui up``);
* the child's stdout and stderr go to a log file opened for appending.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1

__all__ = ["free_port", "spawn", "stop"]


def running(pid: int | None, marker: bytes) -> bool:
    """Whether ``pid`` is a running (not zombie) process of this user whose command line holds
    ``marker``, so a pid the kernel reused for another program, or another user's process named in
    a planted pid file, does not count (and is never signalled)."""
    if not pid:
        return False
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return False
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    return state not in ("Z", "X") and marker in cmdline


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _private_files() -> None:
    """preexec_fn: files the child creates (Envoy's access log, Prometheus' data) are its owner's only."""
    os.umask(0o077)


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the thread that forked it ends; its files are private."""
    _private_files()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


class _Spawner:
    """Forks owned children from one daemon thread that lives as long as the process."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], subprocess.Popen[bytes]], queue.Queue[object]]] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, make: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="process-spawner", daemon=True)
                self._thread.start()
        answer: queue.Queue[object] = queue.Queue(maxsize=1)
        self._jobs.put((make, answer))
        result = answer.get()
        if isinstance(result, BaseException):
            raise result
        assert isinstance(result, subprocess.Popen)
        return result

    def _loop(self) -> None:
        while True:
            make, answer = self._jobs.get()
            try:
                answer.put(make())
            except BaseException as exc:
                answer.put(exc)


_SPAWNER = _Spawner()


def spawn(
    command: Sequence[str], log_path: Path, *, owned: bool, new_session: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``command`` with stdin closed and its output appended to ``log_path``.

    ``owned``: the child dies with this process. ``new_session``: it gets a session of its own, so a
    Ctrl-C in this terminal does not reach it. Raises OSError when the command cannot be run."""

    def make() -> subprocess.Popen[bytes]:
        # The log may quote config or requests: the owner's only, like every state file.
        out = open(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")  # noqa: SIM115
        try:
            return subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                close_fds=True,
                start_new_session=new_session,
                preexec_fn=_die_with_parent if owned else _private_files,
            )
        finally:
            out.close()

    return _SPAWNER.run(make) if owned else make()


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
