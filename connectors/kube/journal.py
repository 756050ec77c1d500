"""What each applied change wrote, object by object, so undo can put the objects back exactly.

The history records routes; reverting routes through the model alone leaves residue (an
``http[].name`` given to a route so an EnvoyFilter could find it, a rule-specific policy copied from
a shared one, a ``rules[].name``). So every applied Kubernetes change is also journalled here: each
object's spec before and as written. When a plan asks for exactly the routes a journalled change
started from, while the cluster still holds exactly what that change wrote, the plan restores the
objects instead of editing them: created objects are deleted, patched objects get their old spec
back, deleted objects are created again. If anything changed since, the ordinary edit is planned.

One JSON line per applied change, next to the history file (0600: specs may name secrets).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base import EditKind, RouteChange
from ..errors import NotFound
from ..history import HistoryStore
from ..model import Route, route_to_dict
from .modelled import Binding, Edit, Modelled
from .objects import for_apply
from .patching import ObjectChange
from .resources import JsonDict, ObjKey, Resource
from .store import Store, Workspace

MAX_RECORDS = 200
"""Only the newest changes can be restored exactly; older ones are planned as ordinary edits."""


@dataclass(frozen=True)
class Written:
    """One object a change wrote: its spec before (None: created) and as written (None: deleted)."""

    resource: Resource
    namespace: str
    name: str
    before: JsonDict | None
    after: JsonDict | None

    @property
    def key(self) -> ObjKey:
        return ObjKey.of(self.resource, self.namespace, self.name)

    def to_json(self) -> JsonDict:
        r = self.resource
        return {
            "resource": [r.group, r.version, r.plural, r.kind, r.namespaced],
            "namespace": self.namespace,
            "name": self.name,
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_json(cls, data: JsonDict) -> Written:
        group, version, plural, kind, namespaced = data["resource"]
        return cls(
            Resource(group, version, plural, kind, namespaced),
            data["namespace"],
            data["name"],
            data.get("before"),
            data.get("after"),
        )


@dataclass(frozen=True)
class Record:
    """One applied change: the routes before and after it and every object it wrote."""

    routes_before: dict[str, JsonDict]
    routes_after: dict[str, JsonDict]
    writes: tuple[Written, ...]
    all_affected: bool = False  # the operator chose to change every route a shared object reaches


def _spec(obj: JsonDict | None) -> Any:
    return None if obj is None else obj.get("spec")


def _comparable(route: Route | JsonDict) -> JsonDict:
    return route if isinstance(route, dict) else route_to_dict(route)


class Journal:
    """Journalled changes of one gateway (in memory when ``path`` is None)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, history: HistoryStore) -> Journal:
        """The journal next to a history file (``history.objects.jsonl``; in memory without one)."""
        return cls(history.path.with_suffix(".objects.jsonl") if history.path is not None else None)

    def record(
        self,
        changes: Sequence[RouteChange],
        written: list[tuple[ObjectChange, JsonDict | None]],
        all_affected: bool = False,
    ) -> None:
        """Journal an applied change: its routes before and after, and each write with the server's answer."""
        before, after = [c.before for c in changes], [c.after for c in changes]
        writes = [
            Written(
                c.resource,
                c.namespace,
                c.name,
                for_apply(c.before) if c.before is not None else None,
                for_apply(answer) if answer is not None else None,
            ).to_json()
            for c, answer in written
        ]
        line = json.dumps(
            {
                "routes_before": {r.name: route_to_dict(r) for r in before},
                "routes_after": {r.name: route_to_dict(r) for r in after},
                "writes": writes,
                "all_affected": all_affected,
            },
            sort_keys=True,
        )
        with self._lock:
            if self.path is None:
                self._memory = [*self._memory[-MAX_RECORDS + 1 :], line]
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def records(self) -> list[Record]:
        """The newest journalled changes, newest first (a torn last line is skipped)."""
        with self._lock:
            if self.path is None:
                lines = list(self._memory)
            elif self.path.exists():
                lines = self.path.read_text(encoding="utf-8").splitlines()[-MAX_RECORDS:]
            else:
                lines = []
        out = []
        for line in reversed(lines):
            try:
                data = json.loads(line)
                out.append(
                    Record(
                        data["routes_before"],
                        data["routes_after"],
                        tuple(Written.from_json(w) for w in data["writes"]),
                        bool(data.get("all_affected", False)),
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def workspace(
        self,
        client: Any,
        requested: dict[str, Route],
        current: Modelled,
        fresh: Store,
        edits: list[Edit],
        edit: Callable[[Workspace, Binding, Route, Route, set[EditKind]], None],
    ) -> tuple[Workspace, Record | None, list[str]]:
        """A workspace over ``fresh`` holding the plan's edits: the journalled change ``requested``
        reverts restored object by object when the cluster still holds what it wrote (its record), else
        ``edit`` applied to each of ``edits``; with any warning about a change that could not be."""
        record, stale = self.matching(client, list(requested.values()), current.by_name, fresh)
        ws = Workspace(fresh)
        if record is not None:
            restore(ws, record)
        else:
            for binding, before, after, kinds in edits:
                edit(ws, binding, before, after, kinds)
        return ws, record, stale

    def matching(
        self, client: Any, requested: list[Route], current: dict[str, Route], fresh: Store
    ) -> tuple[Record | None, list[str]]:
        """The journalled change ``requested`` reverts, if the cluster still holds exactly what it
        wrote (read now through ``client``; those objects are put into ``fresh``); else a warning
        when one was found but its objects have changed since."""
        stale: list[str] = []
        for record in self.reverting(requested, current):
            objs: dict[ObjKey, JsonDict | None] = {}
            for w in record.writes:
                try:
                    objs[w.key] = client.get(w.resource, w.namespace, w.name)
                except NotFound:
                    objs[w.key] = None
            if still_written(record, objs):
                seed(fresh, record, objs)
                return record, []
            stale = [
                "the objects this reverts were changed since (by someone else or a later change): the "
                "routes are restored by an ordinary edit, and fields or objects that change added may stay"
            ]
        return None, stale

    def reverting(self, requested: list[Route], current: dict[str, Route]) -> list[Record]:
        """Changes (newest first) that ``requested`` would revert: they left the routes as they are
        now and started from exactly the requested routes."""
        wanted = {r.name: _comparable(r) for r in requested}
        out = []
        for record in self.records():
            if record.routes_before != wanted or set(record.routes_after) != set(wanted):
                continue
            now = {name: current.get(name) for name in wanted}
            if all(r is not None and _comparable(r) == record.routes_after[n] for n, r in now.items()):
                out.append(record)
        return out


def still_written(record: Record, current: dict[ObjKey, JsonDict | None]) -> bool:
    """Whether every object is still exactly as the change left it (spec; existence)."""
    for w in record.writes:
        now = current.get(w.key)
        if (now is None) != (w.after is None) or (now is not None and _spec(now) != _spec(w.after)):
            return False
    return True


def restore(ws: Workspace, record: Record) -> None:
    """Edit ``ws`` so every object the change wrote is as it was before it (newest write first)."""
    for w in reversed(record.writes):
        if w.before is None:
            ws.delete(w.key)
        elif w.after is None:
            ws.create(w.resource, dict(w.before))
        else:
            obj = ws.edit(w.key)
            if "spec" in w.before:
                obj["spec"] = json.loads(json.dumps(w.before["spec"]))
            else:
                obj.pop("spec", None)


def seed(store: Store, record: Record, current: dict[ObjKey, JsonDict | None]) -> None:
    """Put the objects' current versions (read just now) into the plan's store."""
    for w in record.writes:
        now = current.get(w.key)
        if now is None:
            store.remove(w.key)
        else:
            store.put(w.resource, now)
