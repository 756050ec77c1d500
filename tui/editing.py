"""Taking a form's edit to the gateway without clobbering anyone: rebase onto the route as it is now.

A form edits one aspect of a route (its weights, rate limit or CORS). Before planning, the console
re-reads the route: if someone changed *that* aspect since the form opened, the edit is refused as a
conflict (the operator decides); if they changed something else, the edit is applied on top of
their change instead of writing the stale rest of the route back.
"""

from __future__ import annotations

from dataclasses import replace

from connectors.base import Connector, EditKind, Plan
from connectors.errors import ChangeConflict
from connectors.model import Route
from connectors.model.diff import to_yaml
from connectors.model.serialize import route_to_dict

FIELDS: dict[EditKind, tuple[str, ...]] = {
    "weights": ("backends", "weight_mode"),
    "rate_limit": ("rate_limit",),
    "cors": ("cors",),
}
LABELS: dict[EditKind, str] = {"weights": "weights", "rate_limit": "rate limit", "cors": "CORS"}
EDIT_KINDS: tuple[EditKind, ...] = ("weights", "rate_limit", "cors")


def rebase(kind: EditKind, original: Route, edited: Route, current: Route) -> tuple[Route, bool]:
    """The edit of ``kind`` applied to ``current``; True when other fields moved underneath.
    Raises ChangeConflict when the edited aspect itself changed on the gateway."""
    fields = FIELDS[kind]
    if any(getattr(current, f) != getattr(original, f) for f in fields):
        now = {k: v for k, v in route_to_dict(current).items() if k in fields or k == "name"}
        raise ChangeConflict(
            f"The {LABELS[kind]} of route {current.name} changed on the gateway since this form opened; "
            f"it is now:\n{to_yaml(now)}Press ctrl+r in the form to start again from the current values."
        )
    moved = current != original
    return replace(current, **{f: getattr(edited, f) for f in fields}), moved


def plan_edit(connector: Connector, kind: EditKind, original: Route, edited: Route) -> Plan:
    """Blocking (worker thread): re-read the route, rebase the edit, and plan it."""
    current = connector.get_route(original.name)
    route, moved = rebase(kind, original, edited, current)
    plan = connector.plan([route])
    if moved:
        note = f"route {route.name} was changed by someone else meanwhile; this plan keeps their change"
        plan = replace(plan, warnings=(*plan.warnings, note))
    return plan
