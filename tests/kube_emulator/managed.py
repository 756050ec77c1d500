"""`metadata.managedFields` bookkeeping: who owns which fields, and server-side apply conflicts.

Field sets use the FieldsV1 encoding: a path is a tuple of `f:<field>`, `k:<json keys>` (items of
`x-kubernetes-list-type: map` lists), or `v:<json>` (items of `set` lists). Lists of any other type
are atomic and owned as a whole. This is a simplified structured-merge-diff: good enough to attribute
edits to managers (kubectl, Argo CD, Helm, Flagger ...) and to make apply conflicts real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .structural import child_schema

JsonDict = dict[str, Any]
Path = tuple[str, ...]
_MISSING = object()
_OWNED_METADATA = ("labels", "annotations", "finalizers", "ownerReferences")


@dataclass(frozen=True)
class Scope:
    """Which top-level fields a write may own: the main resource or the status subresource."""

    status_only: bool = False
    exclude_status: bool = False

    def includes(self, key: str) -> bool:
        if key in ("apiVersion", "kind"):
            return False
        if self.status_only:
            return key == "status"
        return not (self.exclude_status and key == "status")

    @property
    def subresource(self) -> str:
        return "status" if self.status_only else ""


def _list_keys(schema: JsonDict | None) -> tuple[str, list[str]]:
    list_type = (schema or {}).get("x-kubernetes-list-type", "atomic")
    return list_type, list((schema or {}).get("x-kubernetes-list-map-keys") or [])


def _key_element(item: JsonDict, keys: list[str]) -> str:
    return "k:" + json.dumps(
        {k: item.get(k) for k in keys if k in item}, separators=(",", ":"), sort_keys=True
    )


def _walk(value: Any, schema: JsonDict | None, prefix: Path, out: set[Path], containers: bool) -> None:
    if isinstance(value, dict) and value and (schema or {}).get("x-kubernetes-map-type") != "atomic":
        if containers and prefix and prefix != ("f:metadata",):
            out.add(prefix)
        for key, item in value.items():
            _walk(item, child_schema(schema, key) if schema else None, (*prefix, f"f:{key}"), out, containers)
        return
    list_type, keys = _list_keys(schema)
    if isinstance(value, list) and list_type in ("map", "set"):
        items = (schema or {}).get("items")
        for item in value:
            if list_type == "set" or not isinstance(item, dict):
                out.add((*prefix, "v:" + json.dumps(item, separators=(",", ":"))))
                continue
            element = (*prefix, _key_element(item, keys))
            out.add(element)
            _walk(item, items if isinstance(items, dict) else None, element, out, containers)
        return
    out.add(prefix)


def field_set(obj: JsonDict, schema: JsonDict | None, scope: Scope, *, containers: bool) -> set[Path]:
    """Fields of `obj` within `scope`; `containers` also lists nested objects (Update-style ownership)."""
    out: set[Path] = set()
    for key, value in obj.items():
        if not scope.includes(key):
            continue
        if key == "metadata":
            for meta_key in _OWNED_METADATA:
                if isinstance(value, dict) and meta_key in value:
                    _walk(value[meta_key], None, ("f:metadata", f"f:{meta_key}"), out, containers)
            continue
        sub = child_schema(schema, key) if schema else None
        _walk(value, sub, (f"f:{key}",), out, containers)
    return out


def value_at(obj: Any, path: Path) -> Any:
    node = obj
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f" and isinstance(node, dict) and rest in node:
            node = node[rest]
        elif kind == "k" and isinstance(node, list):
            wanted = json.loads(rest)
            node = next(
                (i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())),
                _MISSING,
            )
        elif kind == "v" and isinstance(node, list):
            node = json.loads(rest) if json.loads(rest) in node else _MISSING
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def delete_path(obj: Any, path: Path) -> None:
    """Remove the field or list item at `path` (no-op when absent)."""
    parent = value_at(obj, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        target = value_at(obj, path)
        if target is not _MISSING:
            parent.remove(target)


def render_path(path: Path) -> str:
    """`.spec.rules[name="a"].filters` - the notation apply conflict messages use."""
    text = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            text += f".{rest}"
        elif kind == "k":
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
        else:
            text += f"[={rest}]"
    return text


def encode(paths: set[Path]) -> JsonDict:
    """FieldsV1: nested `f:`/`k:`/`v:` keys, `.` marking a member that also has owned children."""

    def build(prefix: Path, children: set[Path]) -> JsonDict:
        heads = sorted({child[len(prefix)] for child in children if len(child) > len(prefix)})
        node: JsonDict = {".": {}} if prefix in paths and heads else {}
        for head in heads:
            below = {child for child in children if len(child) > len(prefix) and child[len(prefix)] == head}
            node[head] = build((*prefix, head), below)
        return node

    return build((), paths)


def decode(fields: JsonDict, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, child in fields.items():
        if key == ".":
            out.add(prefix)
        elif isinstance(child, dict) and child:
            out |= decode(child, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


@dataclass
class Manager:
    name: str
    operation: str  # Apply | Update
    api_version: str
    time: str
    fields: set[Path]
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.name, self.operation, self.subresource)

    def to_entry(self) -> JsonDict:
        entry: JsonDict = {
            "manager": self.name,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def load(obj: JsonDict) -> list[Manager]:
    managers = []
    for entry in obj.get("metadata", {}).get("managedFields") or []:
        if not isinstance(entry, dict) or not entry.get("manager"):
            continue
        managers.append(
            Manager(
                name=entry["manager"],
                operation=entry.get("operation", "Update"),
                api_version=entry.get("apiVersion", ""),
                time=entry.get("time", ""),
                fields=decode(entry.get("fieldsV1") or {}),
                subresource=entry.get("subresource", ""),
            )
        )
    return managers


def store(obj: JsonDict, managers: list[Manager]) -> None:
    entries = [m.to_entry() for m in managers if m.fields]
    if entries:
        obj["metadata"]["managedFields"] = entries
    else:
        obj["metadata"].pop("managedFields", None)


def _changed(old: JsonDict | None, new: JsonDict, new_set: set[Path], old_set: set[Path]) -> set[Path]:
    """Paths new to this write, plus leaves whose value differs (containers only count when new)."""
    parents = {path[:i] for path in new_set for i in range(1, len(path))}
    changed = set()
    for path in new_set:
        if path not in old_set or (path not in parents and value_at(old, path) != value_at(new, path)):
            changed.add(path)
    return changed


def record_update(
    old: JsonDict | None,
    new: JsonDict,
    *,
    manager: str,
    api_version: str,
    time: str,
    schema: JsonDict | None,
    scope: Scope,
) -> None:
    """Give `manager` (operation Update) the fields this write changed; others lose them."""
    managers = load(new)
    new_set = field_set(new, schema, scope, containers=True)
    old_set = field_set(old, schema, scope, containers=True) if old is not None else set()
    changed = _changed(old, new, new_set, old_set)
    removed = old_set - new_set
    identity = (manager, "Update", scope.subresource)
    for entry in managers:
        if entry.identity != identity:
            entry.fields -= changed | removed
        else:
            entry.fields -= removed
    if changed:
        mine = next((m for m in managers if m.identity == identity), None)
        if mine is None:
            mine = Manager(manager, "Update", api_version, time, set(), scope.subresource)
            managers.append(mine)
        mine.fields |= changed
        mine.api_version, mine.time = api_version, time
    store(new, managers)


def apply_conflicts(
    live: JsonDict, config: JsonDict, *, manager: str, schema: JsonDict | None, scope: Scope
) -> list[tuple[Manager, Path]]:
    """(other manager, path) pairs where the applied value differs from a value someone else owns."""
    applied = field_set(config, schema, scope, containers=False)
    conflicts = []
    for other in load(live):
        if other.identity == (manager, "Apply", scope.subresource):
            continue
        for path in sorted(applied & other.fields):
            if value_at(config, path) != value_at(live, path) and not path[-1].startswith("k:"):
                conflicts.append((other, path))
    return conflicts


def record_apply(
    live: JsonDict | None,
    config: JsonDict,
    merged: JsonDict,
    *,
    manager: str,
    api_version: str,
    time: str,
    schema: JsonDict | None,
    scope: Scope,
    forced: list[tuple[Manager, Path]],
) -> None:
    """Finish a server-side apply on `merged`: drop fields this manager applied before but no longer
    applies (unless someone else owns them), transfer forced fields, and record the Apply entry."""
    managers = load(live) if live is not None else []
    applied = field_set(config, schema, scope, containers=False)
    identity = (manager, "Apply", scope.subresource)
    mine = next((m for m in managers if m.identity == identity), None)
    for other, path in forced:
        for entry in managers:
            if entry.identity == other.identity:
                entry.fields.discard(path)
    if mine is not None:
        # Fields this manager applied before and no longer applies go away, unless someone else owns
        # them or something below them. Remove outermost first: an item goes with its fields.
        others = {
            p[:i] for m in managers if m.identity != identity for p in m.fields for i in range(1, len(p) + 1)
        }
        removed: list[Path] = []
        for path in sorted(mine.fields - applied, key=len):
            if path not in others and not any(path[: len(r)] == r for r in removed):
                delete_path(merged, path)
                removed.append(path)
    else:
        mine = Manager(manager, "Apply", api_version, time, set(), scope.subresource)
        managers.append(mine)
    mine.fields, mine.api_version, mine.time = applied, api_version, time
    present = field_set(merged, schema, Scope(), containers=True) | field_set(
        merged, schema, Scope(), containers=False
    )
    for entry in managers:
        entry.fields &= present
    store(merged, managers)
