"""The smallest writes for a change, applied in a safe order and undone if a later one fails.

A plan turns into ObjectChanges: a JSON patch (RFC 6902) per edited object holding only the
paths that differ and starting with a ``test`` of the resourceVersion the plan was made from, a
create for a new object, or a delete with a resourceVersion precondition. So an unedited field is
never sent, and a concurrent change makes the write fail instead of being overwritten.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ChangeConflict, GatewayError
from ..model.diff import unified
from .objects import SERVER_METADATA, for_apply, for_review, label, resource_version, to_yaml
from .resources import JsonDict, ObjKey, Resource

Action = Literal["create", "patch", "delete"]
_MISSING = object()

# Apply order: edits of route objects first (they only add names or shift weights, so any policy
# written next can already target them), then new and edited policies, deletions last so nothing
# refers to an object that is already gone.
ORDER_ROUTE, ORDER_CREATE, ORDER_POLICY, ORDER_DELETE = 0, 1, 2, 3


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def pointer_get(doc: Any, path: str) -> tuple[bool, Any]:
    node = doc
    for raw in path.split("/")[1:] if path else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def json_diff_ops(before: Any, after: Any, path: str = "") -> list[JsonDict]:
    """Operations turning ``before`` into ``after``: per key for objects, per index for lists of the
    same length, a whole replacement otherwise."""
    if isinstance(before, dict) and isinstance(after, dict):
        ops: list[JsonDict] = []
        for key in before:
            if key not in after:
                ops.append({"op": "remove", "path": f"{path}/{escape(key)}"})
        for key, value in after.items():
            sub = f"{path}/{escape(key)}"
            if key not in before:
                ops.append({"op": "add", "path": sub, "value": copy.deepcopy(value)})
            else:
                ops += json_diff_ops(before[key], value, sub)
        return ops
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        ops = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            ops += json_diff_ops(b, a, f"{path}/{i}")
        return ops
    if before == after and type(before) is type(after):
        return []
    return [{"op": "replace", "path": path, "value": copy.deepcopy(after)}]


def _writable(obj: JsonDict) -> JsonDict:
    """The part of an object a patch may touch: everything but server bookkeeping and status."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(out.get("metadata") or {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    out["metadata"] = meta
    return out


@dataclass(frozen=True)
class ObjectChange:
    """One Kubernetes object a plan creates, patches or deletes, with its state before and after."""

    resource: Resource
    namespace: str
    name: str
    action: Action
    before: JsonDict | None
    after: JsonDict | None
    ops: tuple[JsonDict, ...] = ()
    order: int = ORDER_POLICY

    @property
    def key(self) -> ObjKey:
        return ObjKey.of(self.resource, self.namespace, self.name)

    @property
    def label(self) -> str:
        return label(
            self.after or self.before or {"kind": self.resource.kind, "metadata": {"name": self.name}}
        )

    @property
    def base_version(self) -> str:
        return resource_version(self.before)

    @property
    def done(self) -> str:
        """The action in the past tense, for reports: created, patched, deleted."""
        return {"create": "created", "patch": "patched", "delete": "deleted"}[self.action]

    def diff(self) -> str:
        """The object's YAML before and after, as a unified diff (what the operator reviews)."""
        before = to_yaml(for_review(self.before)) if self.before is not None else ""
        after = to_yaml(for_review(self.after)) if self.after is not None else ""
        verb = {"create": "create", "patch": "patch", "delete": "delete"}[self.action]
        return unified(before, after, f"{self.resource.kind}/{self.namespace}/{self.name} ({verb})")


def change_for(
    resource: Resource, before: JsonDict | None, after: JsonDict | None, order: int
) -> ObjectChange | None:
    """The write that turns ``before`` into ``after`` (None for either side: create / delete)."""
    obj = after if after is not None else before
    assert obj is not None
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    if before is None:
        return ObjectChange(resource, ns, name, "create", None, after, (), ORDER_CREATE)
    if after is None:
        return ObjectChange(resource, ns, name, "delete", before, None, (), ORDER_DELETE)
    ops = json_diff_ops(_writable(before), _writable(after))
    if not ops:
        return None
    test = {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version(before)}
    return ObjectChange(resource, ns, name, "patch", before, after, (test, *ops), order)


@dataclass
class Outcome:
    """What the writes returned, object by object, in the order they were applied."""

    written: list[tuple[ObjectChange, JsonDict | None]] = field(default_factory=list)

    def result(self, key: ObjKey) -> JsonDict | None:
        for change, obj in self.written:
            if change.key == key:
                return obj
        return None


def apply_changes(client: Any, changes: list[ObjectChange]) -> Outcome:
    """Write ``changes`` in order. If one fails, the ones already written are reverted (newest first)
    and the error is raised with what the rollback did; a conflict also shows what changed meanwhile."""
    outcome = Outcome()
    for change in sorted(changes, key=lambda c: c.order):
        try:
            outcome.written.append((change, _write(client, change)))
        except GatewayError as exc:
            if isinstance(exc, ChangeConflict):
                exc = _explain_conflict(client, change, exc)
            notes = _rollback(client, outcome)
            if notes:
                exc.args = (f"{exc.args[0] if exc.args else exc}\n" + "\n".join(notes),)
            raise exc from exc.__cause__
    return outcome


def _write(client: Any, change: ObjectChange) -> JsonDict | None:
    if change.action == "create":
        assert change.after is not None
        return client.create(change.resource, change.namespace, for_apply(change.after))  # type: ignore[no-any-return]
    if change.action == "delete":
        client.delete(change.resource, change.namespace, change.name, change.base_version)
        return None
    return client.patch(change.resource, change.namespace, change.name, list(change.ops))  # type: ignore[no-any-return]


def _explain_conflict(client: Any, change: ObjectChange, exc: ChangeConflict) -> ChangeConflict:
    """Re-read the object and show how it differs from the version the plan was made from."""
    try:
        current: JsonDict | None = client.get(change.resource, change.namespace, change.name)
    except GatewayError:
        current = None
    base = to_yaml(for_review(change.before)) if change.before is not None else ""
    now = to_yaml(for_review(current)) if current is not None else ""
    what = unified(base, now, f"{change.resource.kind}/{change.namespace}/{change.name}")
    if change.before is None:
        head = f"{change.label} was created by someone else since the plan was made"
    elif current is None:
        head = f"{change.label} was deleted since the plan was made"
    elif resource_version(current) == change.base_version:
        head = (
            f"the API server refused the {change.action} of {change.label} with a conflict, although "
            f"it is unchanged since the plan (resourceVersion {change.base_version})"
        )
    else:
        head = (
            f"{change.label} was changed by someone else since the plan was made "
            f"(resourceVersion {change.base_version} → {resource_version(current)})"
        )
    detail = f"; what changed meanwhile:\n{what}" if what else ""
    return ChangeConflict(
        f"{head}. Nothing of this plan was kept; re-plan to edit the current version{detail}"
    )


def _rollback(client: Any, outcome: Outcome) -> list[str]:
    notes = []
    for change, written in reversed(outcome.written):
        try:
            if change.action == "create" and written is not None:
                client.delete(change.resource, change.namespace, change.name, resource_version(written))
            elif change.action == "delete" and change.before is not None:
                client.create(change.resource, change.namespace, for_apply(change.before))
            elif change.action == "patch" and change.before is not None and change.after is not None:
                ops = json_diff_ops(_writable(change.after), _writable(change.before))
                test = {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version(written)}
                client.patch(change.resource, change.namespace, change.name, [test, *ops])
            notes.append(f"rolled back {change.label}")
        except GatewayError as exc:
            notes.append(f"could NOT roll back {change.label} ({exc}); restore it by hand")
    return notes
