"""The resource types the emulated server serves (built-in and CRD-backed) and how they are found."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

CRUD_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key giving Kubernetes' version order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else."""
    match = _VERSION.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


@dataclass(frozen=True, eq=False)
class ResourceType:
    """One REST resource (e.g. `virtualservices.networking.istio.io`) with every version it is served in."""

    group: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    versions: tuple[str, ...]  # served versions, highest priority first
    storage_version: str
    verbs: tuple[str, ...] = CRUD_VERBS
    subresources: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    schemas: Mapping[str, JsonDict] = field(default_factory=dict)  # version -> openAPIV3Schema
    custom: bool = False  # backed by a CRD: schema validation, no strategic merge patch
    crd_name: str = ""
    has_generation: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def api_version(self, version: str | None = None) -> str:
        version = version or self.storage_version
        return f"{self.group}/{version}" if self.group else version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @classmethod
    def from_crd(cls, crd: JsonDict) -> ResourceType:
        spec = crd["spec"]
        names = spec["names"]
        served = [v for v in spec["versions"] if v.get("served", True)]
        storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
        subresources = sorted({name for v in served for name in (v.get("subresources") or {})})
        return cls(
            group=spec["group"],
            plural=names["plural"],
            singular=names.get("singular") or names["kind"].lower(),
            kind=names["kind"],
            namespaced=spec["scope"] == "Namespaced",
            versions=tuple(sorted((v["name"] for v in served), key=version_priority)),
            storage_version=storage,
            subresources=tuple(subresources),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            schemas={v["name"]: v["schema"]["openAPIV3Schema"] for v in served if v.get("schema")},
            custom=True,
            crd_name=crd["metadata"]["name"],
        )


class Registry:
    """Copy-on-write map of served resource types, so request threads read it without locking."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str], ResourceType] = {}
        self._write_lock = threading.Lock()

    def add(self, resource: ResourceType) -> None:
        with self._write_lock:
            self._types = {**self._types, resource.key: resource}

    def remove(self, group: str, plural: str) -> ResourceType | None:
        with self._write_lock:
            types = dict(self._types)
            removed = types.pop((group, plural), None)
            self._types = types
            return removed

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def get(self, group: str, plural: str) -> ResourceType | None:
        return self._types.get((group, plural))

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        resource = self._types.get((group, plural))
        return resource if resource and version in resource.versions else None

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        return next((r for r in self._types.values() if r.group == group and r.kind == kind), None)

    def group_versions(self) -> dict[str, list[str]]:
        """Group -> served versions, highest priority (the preferred version) first."""
        groups: dict[str, set[str]] = {}
        for resource in self._types.values():
            groups.setdefault(resource.group, set()).update(resource.versions)
        return {g: sorted(vs, key=version_priority) for g, vs in groups.items()}

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return sorted(
            (r for r in self._types.values() if r.group == group and version in r.versions),
            key=lambda r: r.plural,
        )
