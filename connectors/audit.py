"""The audit log: every applied or undone change as one JSON line under the user's state directory."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .paths import private_dir, state_dir
from .redact import redact

if TYPE_CHECKING:
    from .history import HistoryEntry


class AuditLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "audit.jsonl"
        self._lock = threading.Lock()

    def record(self, entry: HistoryEntry) -> None:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(entry.time)),
            "user": entry.user,
            "gateway": entry.gateway,
            "action": entry.action,
            "routes": list(entry.routes),
            "description": entry.description,
            "before": list(entry.before),
            "after": list(entry.after),
            "change_id": entry.id,
            "undoes": entry.undoes,
            "version": entry.version,
            "verified": entry.verified,
            "kind": entry.kind,
            "event": entry.event,
            "run": entry.run,
        }
        text = json.dumps(redact(line), sort_keys=True) + "\n"
        with self._lock:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, text.encode("utf-8"))
            finally:
                os.close(fd)
