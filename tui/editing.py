"""The console's words for the change pipeline's rebase rule (``connectors.change``).

A form edits one aspect of a route; Apply plans it with ``Change.plan_edit``, which rebases the edit
onto the route as the gateway has it now (a conflict when someone changed that aspect meanwhile).
Only the wording of a conflict is the console's: the form is where the operator starts again.
"""

from __future__ import annotations

from connectors.base import Connector, EditKind, Plan
from connectors.change import EDIT_KINDS, LABELS, Change
from connectors.model import Route

__all__ = ["EDIT_KINDS", "LABELS", "plan_edit"]

SINCE = "this form opened"
RETRY = "Press ctrl+r in the form to start again from the current values."


def plan_edit(connector: Connector, kind: EditKind, original: Route, edited: Route) -> Plan:
    """Blocking (worker thread): rebase the form's edit onto the gateway now, and plan it."""
    return Change(connector).plan_edit(kind, original, edited, since=SINCE, retry=RETRY)
