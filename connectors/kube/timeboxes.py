"""Time boxes of a Kubernetes gateway, kept on the objects themselves as annotations.

A time-boxed change is written down on every object it wrote that still exists (or, when it only
deleted, on its routes' objects), so any console or CLI pointed at the cluster sees it and can
carry it out — there is no process beside the gateway to rely on:

    metadata:
      annotations:
        gatewayctl-tui/expires-at: "2026-01-02T10:00:00Z"   # the earliest pending expiry
        gatewayctl-tui/change-id: "3f9a0c2d1b7e"             # the time-boxed change(s), comma-separated
        gatewayctl-tui/time-boxes: '[{"id": "3f9a...", "due": ..., "before": [...], ...}]'

The last holds what reverting needs (the routes before and after the change) and the box's state.
``claim_due`` marks a due box ``reverting`` on its objects with a resourceVersion precondition, so
two consoles never both revert it; ``settle`` writes how it ended (``needs-decision`` with the reason
stays on the object for everyone to see; a reverted box is removed). Reverting itself is
``connectors.change.timebox.revert_expired``, through the change pipeline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import GatewayError
from ..timeboxes import CLAIM_S, TimeBox, box_for
from .patching import json_diff_ops
from .resources import JsonDict, ObjKey, Resource
from .store import Store

if TYPE_CHECKING:
    from ..base import ApplyResult, Connector


class _Objects(Protocol):
    """What the time boxes need of a ``KubeConnector``."""

    @property
    def client(self) -> Any: ...

    def current_store(self) -> Store: ...

    def refresh(self) -> Store: ...

    def remember(self, resource: Resource, obj: JsonDict) -> None: ...

    def bindings_for(self, routes: Sequence[str]) -> dict[str, Any]: ...


EXPIRES_AT = "gatewayctl-tui/expires-at"
CHANGE_ID = "gatewayctl-tui/change-id"
BOXES = "gatewayctl-tui/time-boxes"
_ORDER = {"pending": 0, "reverting": 1, "needs-decision": 2, "reverted": 3, "undone": 3}


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def boxes_on(obj: JsonDict) -> list[TimeBox]:
    """The time boxes an object carries (none when the annotation is missing or not ours)."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(BOXES)
    try:
        data = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    return [TimeBox.from_json(d) for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def annotations_for(old: dict[str, str], boxes: list[TimeBox]) -> dict[str, str]:
    """``old`` with the three time-box annotations describing ``boxes`` (gone when there are none)."""
    out = {k: v for k, v in old.items() if k not in (EXPIRES_AT, CHANGE_ID, BOXES)}
    if boxes:
        pending = [b.due for b in boxes if b.status in ("pending", "reverting")]
        if pending:
            out[EXPIRES_AT] = rfc3339(min(pending))
        out[CHANGE_ID] = ",".join(b.id for b in boxes)
        out[BOXES] = json.dumps([asdict(b) for b in boxes], sort_keys=True, separators=(",", ":"))
    return out


class AnnotationTimeBoxes:
    """A RevertScheduler (``connectors.base``) whose boxes live on the gateway's objects."""

    def __init__(self, connector: _Objects) -> None:
        self.connector = connector

    # -- writing the annotations ----------------------------------------------------------------

    def _rewrite(self, store: Store, key: ObjKey, change: Any) -> bool:
        """Set the boxes of the object ``key`` to ``change(boxes)``, guarded by the resourceVersion
        read; False when the object is gone or changed meanwhile."""
        obj = store.get(key)
        resource = store.resources.get(key)
        if obj is None or resource is None:
            return False
        meta = obj.get("metadata") or {}
        old = dict(meta.get("annotations") or {})
        new = annotations_for(old, change(boxes_on(obj)))
        ops = json_diff_ops(
            {"annotations": old} if "annotations" in meta else {},
            {"annotations": new} if new else {},
            "/metadata",
        )
        if not ops:
            return True
        test = {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")}
        try:
            written = self.connector.client.patch(resource, key.namespace, key.name, [test, *ops])
        except GatewayError:
            return False
        store.put(resource, written)
        self.connector.remember(resource, written)
        return True

    def _carriers(self, store: Store, box_id: str) -> list[ObjKey]:
        return [k for k in store if any(b.id == box_id for b in boxes_on(store.get(k) or {}))]

    # -- RevertScheduler ----------------------------------------------------------------------

    def schedule(self, connector: Connector, result: ApplyResult, after_s: float) -> None:
        box = box_for(result, after_s)
        store = self.connector.current_store()
        payload = result.plan.payload
        keys = [c.key for c in getattr(payload, "changes", ()) if c.action != "delete"]
        if not keys:  # it only deleted: the routes' own objects carry it
            keys = [b.source for b in self.connector.bindings_for(result.plan.routes).values()]
        missed = [k for k in dict.fromkeys(keys) if not self._rewrite(store, k, lambda bs: [*bs, box])]
        if missed and len(missed) == len(set(keys)):
            raise GatewayError(
                "the change was applied, but its time box could not be written on "
                + ", ".join(f"{k.namespace}/{k.name}" for k in missed)
                + ": it will NOT revert by itself"
            )

    def boxes(self) -> list[TimeBox]:
        """Every box on the objects, one per change (the furthest state where carriers disagree)."""
        found: dict[str, TimeBox] = {}
        store = self.connector.current_store()
        for key in store:
            for box in boxes_on(store.get(key) or {}):
                seen = found.get(box.id)
                if seen is None or _ORDER.get(box.status, 0) > _ORDER.get(seen.status, 0):
                    found[box.id] = box
        return sorted(found.values(), key=lambda b: b.due)

    def claim_due(self, now: float | None = None) -> list[TimeBox]:
        now = time.time() if now is None else now

        def due(box: TimeBox) -> bool:
            stale = box.status == "reverting" and now - box.claimed > CLAIM_S
            return (box.status == "pending" and box.due <= now) or stale

        if not any(due(b) for b in self.boxes()):
            return []  # nothing due on the objects as last read: no need to read them again
        self.connector.refresh()
        store = self.connector.current_store()
        claimed = []
        for box in self.boxes():
            if not due(box):
                continue
            mine = replace(box, status="reverting", claimed=now)
            carriers = self._carriers(store, box.id)
            # The first write decides: another console that claimed it meanwhile made ours stale.
            if carriers and self._rewrite(store, carriers[0], _swap(mine)):
                for key in carriers[1:]:
                    self._rewrite(store, key, _swap(mine))
                claimed.append(mine)
        return claimed

    def settle(self, box: TimeBox) -> None:
        self.connector.refresh()
        store = self.connector.current_store()
        done = box.status in ("reverted", "undone")
        for key in self._carriers(store, box.id):
            self._rewrite(store, key, (lambda bs: [b for b in bs if b.id != box.id]) if done else _swap(box))


def _swap(box: TimeBox) -> Any:
    return lambda boxes: [box if b.id == box.id else b for b in boxes]
