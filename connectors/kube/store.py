"""The objects a connector has read, and a workspace in which a plan edits copies of them."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator

from .resources import JsonDict, ObjKey, Resource

_Bucket = dict[ObjKey, JsonDict]


class Store:
    """Objects by key, bucketed by resource (group, plural) so a kind's objects are found without
    scanning the others; ``version`` moves on every change so derived views can be cached."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.resources: dict[ObjKey, Resource] = {}
        self.version = 0

    def _bucket(self, key: ObjKey) -> _Bucket:
        return self._buckets.setdefault((key.group, key.plural), {})

    def put(self, resource: Resource, obj: JsonDict) -> ObjKey:
        key = ObjKey.for_object(resource, obj)
        self._bucket(key)[key] = obj
        self.resources[key] = resource
        self.version += 1
        return key

    def remove(self, key: ObjKey) -> None:
        self._buckets.get((key.group, key.plural), {}).pop(key, None)
        self.resources.pop(key, None)
        self.version += 1

    def replace_all(self, resource: Resource, namespace: str, objs: Iterable[JsonDict]) -> None:
        """Forget every object of ``resource`` in ``namespace`` and keep ``objs`` instead (a fresh list)."""
        bucket = self._buckets.get((resource.group, resource.plural), {})
        for key in [k for k in bucket if k.namespace == namespace]:
            self.remove(key)
        for obj in objs:
            self.put(resource, obj)

    def get(self, key: ObjKey) -> JsonDict | None:
        return self._buckets.get((key.group, key.plural), {}).get(key)

    def of(self, resource: Resource | None, namespace: str | None = None) -> list[JsonDict]:
        """Objects of ``resource`` (all namespaces when ``namespace`` is None), by namespace and name."""
        if resource is None:
            return []
        bucket = self._buckets.get((resource.group, resource.plural), {})
        keys = sorted(k for k in bucket if namespace is None or k.namespace == namespace)
        return [bucket[k] for k in keys]

    def copy(self) -> Store:
        out = Store()
        out._buckets = {k: dict(v) for k, v in self._buckets.items()}
        out.resources = dict(self.resources)
        return out

    def __iter__(self) -> Iterator[ObjKey]:
        return iter(self.resources)


class Workspace:
    """Copy-on-write edits over a Store: ``edit`` hands out a private deep copy of an object."""

    def __init__(self, base: Store) -> None:
        self.base = base
        self.view = base.copy()
        self.touched: dict[ObjKey, Resource] = {}
        self.warnings: list[str] = []  # what an edit wants the operator to read in the plan
        # What an edit reaches beyond what was asked (refused unless the operator chose so).
        self.reaches: list[str] = []

    def get(self, key: ObjKey) -> JsonDict | None:
        return self.view.get(key)

    def edit(self, key: ObjKey) -> JsonDict:
        """The object to change in place; the view counts as changed from now on."""
        obj = self.view.get(key)
        if obj is None:
            raise KeyError(key)
        self.view.version += 1  # the caller is about to mutate it: models cached so far are stale
        if key not in self.touched:
            obj = copy.deepcopy(obj)
            self.view.put(self.view.resources[key], obj)
            self.touched[key] = self.view.resources[key]
        return obj

    def create(self, resource: Resource, obj: JsonDict) -> ObjKey:
        key = self.view.put(resource, obj)
        self.touched[key] = resource
        return key

    def delete(self, key: ObjKey) -> None:
        resource = self.view.resources.get(key) or self.touched.get(key)
        if resource is not None:
            self.touched[key] = resource
        self.view.remove(key)

    def of(self, resource: Resource | None, namespace: str | None = None) -> list[JsonDict]:
        return self.view.of(resource, namespace)

    def changed(self) -> list[tuple[Resource, JsonDict | None, JsonDict | None]]:
        """(resource, before, after) for every touched object; None marks a create or delete."""
        out = []
        for key, resource in self.touched.items():
            before, after = self.base.get(key), self.view.get(key)
            if before is not after:
                out.append((resource, before, after))
        return out
