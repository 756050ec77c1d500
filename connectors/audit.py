"""The audit log: every applied or undone change as one JSON line under the user's state directory."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .paths import append_private, private_dir, state_dir
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
            append_private(self.path, text.encode("utf-8"))
