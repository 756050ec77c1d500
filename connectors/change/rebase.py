"""Taking an edit of one aspect of a route to the gateway without clobbering anyone.

An edit changes one aspect of a route (its weights, rate limit, CORS, deny rules or faults) of the
route as the editor read it (``original``). Before planning, the edit is rebased onto the route as it
is now: if someone changed *that* aspect since, the edit is refused as a conflict (the operator
decides); if they changed something else, the edit is applied on top of their change instead of
writing the stale rest of the route back. The console, the CLI and the canary all get this rule
through ``Change.plan_edit``.
"""

from __future__ import annotations

from dataclasses import replace

from ..capabilities import EditKind
from ..errors import ChangeConflict
from ..model import Route
from ..model.diff import to_yaml
from ..model.serialize import route_to_dict

FIELDS: dict[EditKind, tuple[str, ...]] = {
    "weights": ("backends", "weight_mode"),
    "rate_limit": ("rate_limit",),
    "cors": ("cors",),
    "deny": ("deny",),
    "fault": ("fault",),
}
LABELS: dict[EditKind, str] = {
    "weights": "weights",
    "rate_limit": "rate limit",
    "cors": "CORS",
    "deny": "deny rules",
    "fault": "fault injection",
}
# The kinds the console's edit forms offer (deny rules are set from the command line and triage).
EDIT_KINDS: tuple[EditKind, ...] = ("weights", "rate_limit", "cors", "fault")

SINCE = "it was read"
RETRY = "Start again from the current values."


def graft(kind: EditKind, edited: Route, onto: Route) -> Route:
    """``onto`` with the ``kind`` aspect of ``edited`` (and nothing else of it)."""
    return replace(onto, **{f: getattr(edited, f) for f in FIELDS[kind]})


def rebase(
    kind: EditKind,
    original: Route,
    edited: Route,
    current: Route,
    *,
    since: str = SINCE,
    retry: str = RETRY,
) -> tuple[Route, bool]:
    """The edit of ``kind`` applied to ``current``; True when other fields moved underneath.
    Raises ChangeConflict when the edited aspect itself changed on the gateway; its message says
    what the aspect is now, "since ``since``", and ends with ``retry`` (what the caller can do)."""
    fields = FIELDS[kind]
    if any(getattr(current, f) != getattr(original, f) for f in fields):
        now = {k: v for k, v in route_to_dict(current).items() if k in fields or k == "name"}
        raise ChangeConflict(
            f"The {LABELS[kind]} of route {current.name} changed on the gateway since {since}; "
            f"it is now:\n{to_yaml(now)}{retry}"
        )
    return graft(kind, edited, current), current != original


def kept_their_change(name: str) -> str:
    """The plan warning when the edit was rebased onto someone else's change of the route."""
    return f"route {name} was changed by someone else meanwhile; this plan keeps their change"
