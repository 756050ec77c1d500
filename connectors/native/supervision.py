"""What a native gateway's supervisor says about it (``supervisor.json``), readable without the
supervisor module (which runs the connector): ``gateways``, ``down`` and the time-box check use it.

``MODULE`` is the supervisor itself; ``ENTRY`` the process ``up`` starts (``connectors.change.
supervise``: the supervisor with the time-box reverter beside Envoy). Either counts as alive.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..process import running
from .xds import atomic_write

STATUS_FILE = "supervisor.json"
MODULE = "connectors.native.supervisor"
ENTRY = "connectors.change.supervise"


@dataclass
class Supervision:
    """What the supervisor of one gateway says about it (``supervisor.json``)."""

    pid: int = 0
    status: str = "starting"  # starting | running | restarting | stopped
    reason: str = ""
    restarts: int = 0
    last_exit: str = ""
    since: float = 0.0
    reverts: bool = False  # this supervisor carries out the time boxes (older ones left it to a reverter)

    @classmethod
    def read(cls, state_dir: Path) -> Supervision | None:
        try:
            data: Any = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def write(self, state_dir: Path, status: str, reason: str = "") -> None:
        self.status, self.reason, self.since = status, reason, time.time()
        atomic_write(state_dir / STATUS_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @property
    def alive(self) -> bool:
        return supervisor_alive(self.pid)


def supervisor_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a running supervisor process (not a zombie, not a reused pid)."""
    return running(pid, ENTRY.encode()) or running(pid, MODULE.encode())
