"""Applied changes, newest last, stored as JSON lines so a crash loses at most the line being written.

Entries are stored with their secrets masked (``connectors.redact``): a route's credential header
values or a private JWK never reach the file. Undo takes them back from the route as it is now
(``HistoryEntry.restored``).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import NothingToUndo
from .paths import private_dir
from .redact import Unrecoverable, redact, unredact


@dataclass(frozen=True)
class Label:
    """How a change is labelled in history and the audit log (``HistoryEntry.kind/event/run``)."""

    kind: str = "change"
    event: str = ""
    run: str = ""


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
    # "apply", "undo", "event" (recorded, changed nothing: a canary hold) or "rollback" (a change a
    # crash interrupted, undone)
    action: str = "apply"
    undoes: str | None = None
    version: str = ""
    verified: bool = True
    # What made the entry: "change" (an edit or an undo) or "canary" (a run's steps, holds, aborts,
    # promotes); ``event`` names the canary's ("start", "step", "hold", ...), ``run`` its run id.
    kind: str = "change"
    event: str = ""
    run: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def restored(self, current: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """The routes as they were before this change (``before``), each masked secret taken from
        ``current`` (route name -> the route's dict now). NothingToUndo names a secret that cannot
        be taken back because the value around it changed since."""
        out = []
        for before in self.before:
            name = str(before.get("name", ""))
            try:
                out.append(unredact(before, current.get(name), f"routes.{name}"))
            except Unrecoverable as exc:
                raise NothingToUndo(
                    f"{exc.where}: a secret value changed since that change and the history does not "
                    "keep secrets; edit the gateway's config to restore it"
                ) from None
        return out

    def after_is(self, name: str, current: dict[str, Any] | None) -> bool:
        """Whether route ``name`` is now as this change left it (compared with secrets masked)."""
        after = next((a for a in self.after if a.get("name") == name), None)
        return after is not None and current is not None and redact(current) == after

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
        entry = HistoryEntry.from_json(redact(entry.to_json()))
        with self._lock:
            if self.path is None:
                self._memory.append(entry)
                return
            private_dir(self.path.parent)
            line = json.dumps(entry.to_json(), sort_keys=True) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
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
            if entry.action in ("undo", "event", "rollback"):
                # Undo the undo only if nothing older remains: stepping back keeps walking back.
                # An event (a canary's hold) changed nothing there is to undo; a roll-back (of a change
                # a crash interrupted) restored what was served.
                continue
            return entry
        return None
