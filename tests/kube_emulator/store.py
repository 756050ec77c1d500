"""Object storage: one global resourceVersion counter, a bounded event history, watch fan-out.

Stored objects are treated as immutable: a write stores a new dict, reads hand out the stored one,
and callers deep-copy before changing anything. All read-modify-write sequences hold `lock`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from .status import expired

JsonDict = dict[str, Any]
ResourceKey = tuple[str, str]  # (group, plural)
ObjectKey = tuple[str, str]  # (namespace or "", name)


@dataclass(frozen=True)
class StoredEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: ResourceKey
    obj: JsonDict
    old: JsonDict | None  # state before the change, so selector-filtered watches can see objects leave


def object_key(obj: JsonDict) -> ObjectKey:
    metadata = obj["metadata"]
    return (metadata.get("namespace") or "", metadata["name"])


class Store:
    def __init__(self, history_window: int = 1000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._rv = 1
        self._objects: dict[ResourceKey, dict[ObjectKey, JsonDict]] = {}
        self._history: deque[StoredEvent] = deque()
        self._window = history_window
        self._floor = 1  # a watch may start from any resourceVersion >= floor
        self.closed = False

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def floor(self) -> int:
        """Oldest resourceVersion a watch or continue token may still start from."""
        return self._floor

    def get(self, resource: ResourceKey, namespace: str, name: str) -> JsonDict | None:
        return self._objects.get(resource, {}).get((namespace, name))

    def objects(self, resource: ResourceKey, namespace: str | None = None) -> list[JsonDict]:
        """Objects sorted by (namespace, name), as etcd keys sort; `namespace=None` means all."""
        with self.lock:
            items = sorted(self._objects.get(resource, {}).items())
        return [obj for (ns, _), obj in items if namespace is None or ns == namespace]

    def resources(self) -> list[ResourceKey]:
        return list(self._objects)

    def _record(self, event_type: str, resource: ResourceKey, obj: JsonDict, old: JsonDict | None) -> None:
        self._history.append(StoredEvent(self._rv, event_type, resource, obj, old))
        while len(self._history) > self._window:
            self._floor = self._history.popleft().rv
        self.changed.notify_all()

    def write(self, resource: ResourceKey, obj: JsonDict) -> JsonDict:
        """Store `obj` under a new resourceVersion (which is set on it) and emit ADDED or MODIFIED."""
        with self.lock:
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            bucket = self._objects.setdefault(resource, {})
            key = object_key(obj)
            old = bucket.get(key)
            bucket[key] = obj
            self._record("MODIFIED" if old is not None else "ADDED", resource, obj, old)
            return obj

    def remove(self, resource: ResourceKey, namespace: str, name: str) -> JsonDict | None:
        """Delete and emit DELETED; like etcd, the deletion gets its own resourceVersion."""
        with self.lock:
            old = self._objects.get(resource, {}).pop((namespace, name), None)
            if old is None:
                return None
            self._rv += 1
            gone = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self._rv)}}
            self._record("DELETED", resource, gone, old)
            return gone

    def compact(self) -> int:
        """Forget the event history (like etcd compaction): older resourceVersions now get 410 Gone."""
        with self.lock:
            self._history.clear()
            self._floor = self._rv
            return self._rv

    def events_after(self, rv: int, resource: ResourceKey) -> list[StoredEvent]:
        """Events for `resource` newer than `rv`; raises 410 Expired when history no longer reaches back."""
        with self.lock:
            if rv < self._floor:
                raise expired(f"too old resource version: {rv} ({self._floor})")
            return [e for e in self._history if e.rv > rv and e.resource == resource]

    def wait(self, timeout: float) -> None:
        with self.changed:
            if not self.closed:
                self.changed.wait(timeout)

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()
