"""Carrying out time boxes: ``revert_expired(connector)`` claims the time boxes whose time is up
from the connector's ``RevertScheduler`` and reverts each through the change pipeline — the aspects
the change edited (weights, rate limit, CORS, deny rules) go back to what they were, recorded in the
history as an undo of it. A revert is never forced: when someone edited those aspects meanwhile the
box is settled as *needs a decision*, with the reason; an edit of another aspect is kept. A passing
failure (Envoy restarting, a racing apply) leaves it due, to be tried again.
"""

from __future__ import annotations

import time
from dataclasses import fields, replace
from typing import TYPE_CHECKING

from ..errors import ChangeConflict, GatewayError, NotFound, PermissionDenied, ValidationError
from ..model import Route, route_from_dict
from ..model.durations import format_duration
from .rebase import FIELDS, LABELS

if TYPE_CHECKING:
    from ..base import Connector
    from ..timeboxes import TimeBox

_FIELDS: dict[str, tuple[str, ...]] = {str(k): v for k, v in FIELDS.items()}
_LABELS: dict[str, str] = {str(k): v for k, v in LABELS.items()}
_PASSING = (ChangeConflict, PermissionDenied, GatewayError, OSError)


def edited_kinds(before: Route, after: Route) -> list[str]:
    """The aspects an edit changed; ``route`` when it changed something no aspect covers."""
    kinds = [k for k, fs in _FIELDS.items() if any(getattr(before, f) != getattr(after, f) for f in fs)]
    covered = {f for k in kinds for f in _FIELDS[k]}
    rest = [f.name for f in fields(Route) if f.name not in covered and f.name != "source"]
    if any(getattr(before, f) != getattr(after, f) for f in rest):
        return ["route"]
    return kinds


def _fields_of(kinds: list[str]) -> list[str]:
    if "route" in kinds:
        return [f.name for f in fields(Route) if f.name not in ("name", "source")]
    return [f for k in kinds for f in _FIELDS.get(k, ())]


def revert_expired(connector: Connector, now: float | None = None) -> list[TimeBox]:
    """Revert every time box of ``connector`` whose time is up; the boxes as they were settled."""
    from .pipeline import Change

    reverts = Change(connector).hooks.reverts
    settled = []
    for box in reverts.claim_due(time.time() if now is None else now):
        try:
            done = _revert(connector, box)
        except BaseException:
            reverts.settle(replace(box, status="pending"))
            raise
        reverts.settle(done)
        settled.append(done)
    return settled


def _undone(connector: Connector, box: TimeBox) -> bool:
    return any(e.undoes == box.id for e in connector.history())


def _revert(connector: Connector, box: TimeBox) -> TimeBox:
    """Revert ``box`` through the change pipeline, or say why it needs a decision."""
    from .pipeline import Change

    if _undone(connector, box):
        return replace(box, status="undone", reason="undone by hand before its time was up")
    routes = []
    for before_d, after_d in zip(box.before, box.after, strict=True):
        before, after = route_from_dict(before_d), route_from_dict(after_d)
        kinds = edited_kinds(before, after)
        names = _fields_of(kinds)
        try:
            current = connector.get_route(after.name)
        except NotFound:
            return replace(box, status="needs-decision", reason=f"route {after.name} was removed since")
        if all(getattr(current, f) == getattr(before, f) for f in names):
            continue  # already as before
        if any(getattr(current, f) != getattr(after, f) for f in names):
            label = " and ".join(_LABELS.get(k, "settings") for k in kinds)
            why = f"the {label} of route {after.name} changed since the time-boxed change; not reverted"
            return replace(box, status="needs-decision", reason=why)
        routes.append(replace(current, **{f: getattr(before, f) for f in names}))
    if not routes:
        return replace(box, status="reverted", reason="already as before")
    change = Change(connector)
    try:
        plan = change.plan_restore(routes)
        took = format_duration(box.seconds)
        plan = replace(plan, undoes=box.id, description=f"revert after {took}: {box.description}")
        result = change.apply(plan)
    except ValidationError as exc:
        return replace(box, status="needs-decision", reason=f"the revert is refused: {exc}")
    except _PASSING as exc:
        return replace(box, status="pending", tries=box.tries + 1, reason=f"will try again: {exc}")
    return replace(box, status="reverted", revert_id=result.entry.id, reason="")


def revert_on_sight(connector: Connector) -> list[str]:
    """For a gateway whose time boxes live on the gateway itself (``Connector.reverts_on_sight``):
    revert those that are due, as any console or CLI connecting does; a line per box settled (or
    why they could not be looked at). Nothing in read-only mode."""
    if connector.readonly or not connector.reverts_on_sight:
        return []
    try:
        settled = revert_expired(connector)
    except GatewayError as exc:
        return [f"time boxes not checked: {exc}"]
    return [describe_settled(b) for b in settled]


def describe_settled(box: TimeBox) -> str:
    """``Reverted 3f9a (…) as change 77c1`` / ``NEEDS A DECISION: 3f9a (…): why``."""
    if box.status == "reverted":
        how = f" as change {box.revert_id}" if box.revert_id else f": {box.reason}"
        return f"Reverted {box.id} ({box.description}){how}"
    if box.status == "needs-decision":
        return f"NEEDS A DECISION: {box.id} ({box.description}): {box.reason}"
    return f"{box.status}: {box.id} ({box.description}): {box.reason}"
