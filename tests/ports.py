"""Ports for the servers tests start, without races between parallel workers or test sessions.

``connectors.process.free_port`` asks the OS for a port, closes it and returns the number; the
server binds it later. With several pytest workers (``./dev test`` runs them, and other sessions
may run at the same time) binding port 0 all the while, the OS can hand that number to someone
else in between. Here a test's ports come from below the kernel's ephemeral range, which the OS
never hands out for port 0 or outgoing connections, and each is claimed with a lock on one byte of
a shared lock file (at the port's offset), held until the process exits: no other test process on
the machine picks it, and this one never hands it out twice.

``install()`` (called by ``tests/conftest.py``) makes this every ``free_port`` the tests and the
code under test call in the test process; processes the tests start choose their own.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["claim_port", "install"]

LOWEST = 20000  # above every fixed port the project uses (the demo's 9901, 10000, 18081, 18082)


def _ephemeral_low() -> int:
    """The first port of the range the OS hands out itself (Linux's default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class _Claims:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._claimed: set[int] = set()
        self._random = random.Random()  # seeded from the OS: workers start at different ports
        self._high = _ephemeral_low()

    def _file(self) -> int:
        if self._fd is None:
            path = Path(tempfile.gettempdir()) / f"gatewayctl-test-ports-{os.getuid()}.lock"
            # Never closed: closing any descriptor of the file would drop every lock this process holds.
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        return self._fd

    def claim(self, host: str) -> int:
        with self._lock:
            fd = self._file()
            for _ in range(20 * (self._high - LOWEST)):
                port = self._random.randrange(LOWEST, self._high)
                if port in self._claimed:
                    continue
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
                except OSError:
                    continue  # another test process has it
                self._claimed.add(port)  # kept even when something else listens there now
                if _bindable(host, port):
                    return port
            raise RuntimeError(f"no free port left in {LOWEST}-{self._high - 1} for the tests")


def _bindable(host: str, port: int) -> bool:
    """Free now, strictly (no SO_REUSEADDR: a port with connections in TIME_WAIT does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


_CLAIMS = _Claims()


def claim_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, that no other test process will be given: the tests' ``free_port``."""
    return _CLAIMS.claim(host)


def install() -> None:
    """Make ``claim_port`` the ``free_port`` of every module of the project loaded now or later."""
    import connectors.process

    original = connectors.process.free_port
    for name, module in list(sys.modules.items()):
        ours = name.split(".")[0] in ("connectors", "tui", "tests")
        if ours and getattr(module, "free_port", None) is original:
            module.free_port = claim_port  # type: ignore[attr-defined]
