"""The objects a connector has read, and a workspace in which a plan edits copies of them."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .resources import JsonDict, ObjKey, Resource


@dataclass
class Store:
    """Objects by key, with the resource each was read as."""

    objects: dict[ObjKey, JsonDict] = field(default_factory=dict)
    resources: dict[ObjKey, Resource] = field(default_factory=dict)

    def put(self, resource: Resource, obj: JsonDict) -> ObjKey:
        key = ObjKey.for_object(resource, obj)
        self.objects[key] = obj
        self.resources[key] = resource
        return key

    def remove(self, key: ObjKey) -> None:
        self.objects.pop(key, None)
        self.resources.pop(key, None)

    def replace_all(self, resource: Resource, namespace: str, objs: Iterable[JsonDict]) -> None:
        """Forget every object of ``resource`` in ``namespace`` and keep ``objs`` instead (a fresh list)."""
        for key in [k for k in self.objects if k.is_a(resource) and k.namespace == namespace]:
            self.remove(key)
        for obj in objs:
            self.put(resource, obj)

    def get(self, key: ObjKey) -> JsonDict | None:
        return self.objects.get(key)

    def of(self, resource: Resource | None, namespace: str | None = None) -> list[JsonDict]:
        """Objects of ``resource`` (all namespaces when ``namespace`` is None), by namespace and name."""
        if resource is None:
            return []
        keys = sorted(
            k for k in self.objects if k.is_a(resource) and (namespace is None or k.namespace == namespace)
        )
        return [self.objects[k] for k in keys]

    def copy(self) -> Store:
        return Store(dict(self.objects), dict(self.resources))

    def __iter__(self) -> Iterator[ObjKey]:
        return iter(self.objects)


class Workspace:
    """Copy-on-write edits over a Store: ``edit`` hands out a private deep copy of an object."""

    def __init__(self, base: Store) -> None:
        self.base = base
        self.view = base.copy()
        self.touched: dict[ObjKey, Resource] = {}

    def get(self, key: ObjKey) -> JsonDict | None:
        return self.view.get(key)

    def edit(self, key: ObjKey) -> JsonDict:
        obj = self.view.get(key)
        if obj is None:
            raise KeyError(key)
        if key not in self.touched:
            obj = copy.deepcopy(obj)
            self.view.objects[key] = obj
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
