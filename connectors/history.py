"""Applied changes, newest last, stored as JSON lines so a crash loses at most the line being written."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class HistoryEntry:
    """One applied or undone change: who, when, where, and the routes before and after."""

    id: str
    time: float
    user: str
    gateway: str
    routes: tuple[str, ...]
    description: str
    before: tuple[dict[str, Any], ...]
    after: tuple[dict[str, Any], ...]
    action: str = "apply"  # "apply", "undo", or "rollback" (a change a crash interrupted, undone)
    undoes: str | None = None
    version: str = ""
    verified: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryEntry:
        data = dict(data)
        data["routes"] = tuple(data.get("routes", ()))
        data["before"] = tuple(data.get("before", ()))
        data["after"] = tuple(data.get("after", ()))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class HistoryStore:
    """History of one gateway. Kept in memory when ``path`` is None."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._memory: list[HistoryEntry] = []

    def append(self, entry: HistoryEntry) -> None:
        with self._lock:
            if self.path is None:
                self._memory.append(entry)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(entry.to_json(), sort_keys=True) + "\n"
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def entries(self) -> list[HistoryEntry]:
        with self._lock:
            if self.path is None:
                return list(self._memory)
            if not self.path.exists():
                return []
            out = []
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    out.append(HistoryEntry.from_json(json.loads(line)))
                except (ValueError, TypeError):
                    continue  # a torn last line after a crash
            return out

    def last_undoable(self) -> HistoryEntry | None:
        """The newest applied change not yet undone (undo entries themselves can be undone: redo)."""
        entries = self.entries()
        undone = {e.undoes for e in entries if e.undoes}
        for entry in reversed(entries):
            if entry.id in undone:
                continue
            if entry.action in ("undo", "rollback"):
                # Undo the undo only if nothing older remains: stepping back keeps walking back.
                # A roll-back (of a change a crash interrupted) restored what was served: nothing to undo.
                continue
            return entry
        return None
