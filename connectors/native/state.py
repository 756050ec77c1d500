"""A native gateway's state directory: ``state.json`` (read by the registry and by attach()) and
the lock that keeps two processes from interleaving applies."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ChangeConflict, NotFound
from ..paths import private_dir
from .xds import atomic_write

STATE_FILE = "state.json"


@dataclass
class GatewayState:
    """What the state directory records about a running native gateway."""

    name: str
    config: str
    admin_url: str = ""  # unix:/path/admin.sock (see admin_socket)
    admin_socket: str = ""
    stats_port: int = 0  # the loopback listener serving /stats/prometheus
    stats_url: str = ""
    pid: int | None = None
    listeners: dict[str, str] = field(default_factory=dict)
    access_log: str = ""
    access_log_headers: list[str] = field(default_factory=list)
    envoy: str = ""
    owned: bool = False
    started: float = 0.0
    xds_version: int = 0
    probe_token: str = ""
    concurrency: int = 0

    @classmethod
    def read(cls, state_dir: Path) -> GatewayState:
        path = state_dir / STATE_FILE
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFound(f"no native gateway in {state_dir} (no {STATE_FILE})") from exc
        except (OSError, ValueError) as exc:
            raise NotFound(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict) or "name" not in data or "config" not in data:
            raise NotFound(f"{path} is not a gateway state file")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def write(self, state_dir: Path) -> None:
        private_dir(state_dir)
        atomic_write(state_dir / STATE_FILE, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")


class ApplyLock:
    """Held while a change is written: a thread lock for this process, flock for the others."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.RLock()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._local:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                deadline = time.monotonic() + self.timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise ChangeConflict(
                                "another process has been applying a change to this gateway for "
                                f"{self.timeout:g}s; try again later"
                            ) from None
                        time.sleep(0.01)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
