"""Model routes read from a cluster and where each one lives (the object, the entry in it): what the
flavours' readers build and ``KubeConnector`` plans on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..base import EditKind
from ..model import Route
from .resources import JsonDict, ObjKey

__all__ = ["Binding", "Edit", "Modelled", "route_entries", "unique_names"]


@dataclass(frozen=True)
class Binding:
    """Where a model route lives: the object, the index of its entry (http[i] / rules[i]) and the
    entry's own name if it has one. ``context`` is connector-specific (resolved gateways etc.)."""

    route: str
    source: ObjKey
    index: int
    native_name: str | None = None
    context: Any = None


@dataclass
class Modelled:
    """Model routes read from the cluster, each with the objects it came from."""

    routes: list[Route] = field(default_factory=list)
    bindings: dict[str, Binding] = field(default_factory=dict)
    by_name: dict[str, Route] = field(default_factory=dict)

    def add(self, route: Route, binding: Binding) -> None:
        self.routes.append(route)
        self.bindings[route.name] = binding
        self.by_name[route.name] = route

    def route(self, name: str) -> Route | None:
        return self.by_name.get(name)


Edit = tuple[Binding, Route, Route, set[EditKind]]
"""One route's edit: where it lives, the route before and as asked, and the kinds of edit."""


def unique_names(candidates: list[tuple[str, str]]) -> list[str]:
    """Model route names: the preferred name, or ``<object>-<preferred>`` where two would collide."""
    counts: dict[str, int] = {}
    for preferred, _ in candidates:
        counts[preferred] = counts.get(preferred, 0) + 1
    out, seen = [], set()
    for preferred, qualified in candidates:
        name = preferred if counts[preferred] == 1 else qualified
        base, n = name, 2
        while name in seen:
            name, n = f"{base}-{n}", n + 1
        seen.add(name)
        out.append(name)
    return out


def route_entries(objects: Iterable[JsonDict], list_key: str) -> list[tuple[JsonDict, int, JsonDict, str]]:
    """One model route per entry of ``spec[list_key]`` (a VirtualService's ``http[]``, an HTTPRoute's
    ``rules[]``): (object, index, entry, route name), named by the entry's own name, else
    ``<object>-<index>``, qualified where two would collide."""
    entries = [
        (obj, i, entry)
        for obj in objects
        for i, entry in enumerate((obj.get("spec") or {}).get(list_key) or [])
        if isinstance(entry, dict)
    ]
    names = unique_names(
        [
            (
                str(entry.get("name") or f"{obj['metadata']['name']}-{i}"),
                f"{obj['metadata']['name']}-{entry.get('name') or i}",
            )
            for obj, i, entry in entries
        ]
    )
    return [(obj, i, entry, name) for (obj, i, entry), name in zip(entries, names, strict=True)]
