"""``Change``: the one path every change to a gateway takes, whoever starts it.

    plan_edit / plan_routes / plan_undo          apply                           export
    ───────────────────────────────────          ─────────────────────────       ──────────────
    1 drift check (hooks.drift)                  1 refuse in read-only mode,     write the plan's
    2 rebase onto the gateway now (conflicts)      or drift not adopted          objects for review
    3 connector.plan()  → Plan (the diff)        2 journal: intent               (clusters only)
                                                 3 connector.apply_native()
                                                 4 connector.verify()
                                                 5 record: history + audit log
                                                 6 journal: completed

The console (edit forms, diff screen, undo), the CLI (``set-*``, ``undo``) and the canary call only
this class; connectors supply the connector-specific steps (``plan``, ``apply_native``, ``verify``,
``plan_undo``, ``export``) and their hooks (``Connector.change_hooks``, see ``hooks``).

Every method blocks (network, files, processes): the console calls them from worker threads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path

from ..base import ApplyResult, Connector, EditKind, NoReverts, Plan
from ..errors import ChangeConflict, GatewayError, PermissionDenied
from ..history import HistoryEntry, Label
from ..model import Route, route_to_dict
from ..timeboxes import refuse_box
from .hooks import ChangeHooks
from .rebase import FIELDS, RETRY, SINCE, graft, kept_their_change, rebase

READONLY_REFUSAL = "read-only mode: changes are refused (started with --readonly)"


class Change:
    """The change pipeline for one connected gateway. Cheap to make: make one per change."""

    def __init__(self, connector: Connector, hooks: ChangeHooks | None = None) -> None:
        self.connector = connector
        self.hooks = hooks if hooks is not None else connector.change_hooks()

    # -- checks -----------------------------------------------------------------------------------

    def require(self, kind: EditKind) -> None:
        """Raise PermissionDenied (with the reason) unless ``kind`` may be edited here now."""
        caps = self.connector.capabilities()
        if not caps.can(kind):
            raise PermissionDenied(caps.why_not(kind))

    # -- planning ---------------------------------------------------------------------------------

    def plan_edit(
        self,
        kind: EditKind,
        original: Route,
        edited: Route,
        *,
        since: str = SINCE,
        retry: str = RETRY,
    ) -> Plan:
        """Plan the ``kind`` aspect of ``edited``, an edit of ``original`` (the route as the caller
        read it), on top of the route as the gateway has it now.

        The route is read once, by the connector's own ``plan``: when nobody moved it since
        ``original`` (the plan's "before" is ``original``) that plan is the answer. Otherwise the
        route is read again and the edit rebased (``rebase``): a ChangeConflict when the same aspect
        changed (its message ends with ``retry``), a plan that keeps their change (with a warning)
        when something else did."""
        drift = self.hooks.drift.before_plan(self.connector)
        try:
            plan = self.connector.plan([graft(kind, edited, original)])
        except GatewayError:
            current = self.connector.get_route(original.name)
            if current == original:
                raise  # the edit itself is refused: the gateway's reason stands
            return self._warned(self._plan_rebased(kind, original, edited, current, since, retry), drift)
        if _before(plan, original.name) != original:
            current = self.connector.get_route(original.name)
            plan = self._plan_rebased(kind, original, edited, current, since, retry)
        return self._warned(_own_edit(plan, kind, original), drift)

    def _plan_rebased(
        self, kind: EditKind, original: Route, edited: Route, current: Route, since: str, retry: str
    ) -> Plan:
        route, moved = rebase(kind, original, edited, current, since=since, retry=retry)
        plan = self.connector.plan([route])
        return replace(plan, warnings=(*plan.warnings, kept_their_change(route.name))) if moved else plan

    def plan_routes(self, routes: Sequence[Route]) -> Plan:
        """Plan whole routes as given (replacing the routes of the same names): for callers that
        edit more than one aspect. Prefer ``plan_edit``, which does not write stale fields back."""
        drift = self.hooks.drift.before_plan(self.connector)
        return self._warned(self.connector.plan(routes), drift)

    def plan_restore(self, routes: Sequence[Route]) -> Plan:
        """``plan_routes`` for routes put back as they were (a time box's revert): through the
        connector's ``plan_restore``, so a rule that binds only new edits cannot refuse it."""
        drift = self.hooks.drift.before_plan(self.connector)
        return self._warned(self.connector.plan_restore(routes), drift)

    def plan_undo(self) -> Plan:
        """A plan restoring the routes of the last applied change not undone yet (NothingToUndo
        when there is none); applied like any other plan."""
        drift = self.hooks.drift.before_plan(self.connector)
        return self._warned(self.connector.plan_undo(), drift)

    @staticmethod
    def _warned(plan: Plan, drift: tuple[str, ...]) -> Plan:
        return replace(plan, warnings=(*drift, *plan.warnings)) if drift else plan

    # -- applying ---------------------------------------------------------------------------------

    def apply(self, plan: Plan, *, label: Label | None = None) -> ApplyResult:
        """Write, verify, then record in history and the audit log. Raises PermissionDenied in
        read-only mode and whatever the connector's write raises (ChangeRejected, ChangeConflict,
        GatewayNotRunning...); on those the gateway keeps serving its previous config. ``label``
        marks the history entry (a canary's step: ``Label("canary", "step", run)``)."""
        connector = self.connector
        if connector.readonly:
            raise PermissionDenied(READONLY_REFUSAL)
        if plan.drift and not plan.adopt:
            raise ChangeConflict(drift_refusal(plan))
        started = time.monotonic()
        journal = self.hooks.journal
        journal.intent(plan)
        try:
            version = connector.apply_native(plan)
        except BaseException as exc:
            journal.abandoned(plan, exc)
            raise
        verification = connector.verify(plan)
        entry = self.record(plan, version, verified=verification.ok, label=label)
        journal.completed(plan, entry)
        return ApplyResult(
            plan=plan, verification=verification, entry=entry, seconds=time.monotonic() - started
        )

    def record(self, plan: Plan, version: str, *, verified: bool, label: Label | None = None) -> HistoryEntry:
        """Append the applied ``plan`` to the gateway's history and to the audit log."""
        connector = self.connector
        entry = HistoryEntry(
            id=os.urandom(6).hex(),
            time=time.time(),
            user=connector.user,
            gateway=connector.info().title,
            routes=plan.routes,
            description=plan.description,
            before=tuple(route_to_dict(c.before) for c in plan.changes),
            after=tuple(route_to_dict(c.after) for c in plan.changes),
            action="undo" if plan.undoes else "apply",
            undoes=plan.undoes,
            version=version,
            verified=verified,
            **asdict(label or Label()),
        )
        if connector.history_store is not None:
            connector.history_store.append(entry)
        if connector.audit_log is not None:
            connector.audit_log.record(entry)
        return entry

    def export(self, plan: Plan, target: Path) -> list[Path]:
        """Write the plan's objects under ``target`` for review instead of applying them
        (PermissionDenied for connectors that cannot)."""
        return self.connector.export(plan, target)

    # -- time boxes -------------------------------------------------------------------------------

    @property
    def can_time_box(self) -> bool:
        """Whether this gateway keeps time boxes at all (no I/O: the console asks before drawing)."""
        return not isinstance(self.hooks.reverts, NoReverts)

    def require_reverts(self, plan: Plan, after_s: float) -> None:
        """Refuse a time box before anything is written: a length that cannot be one
        (ValidationError on ``for``), a plan that adds a route, or a gateway that cannot revert by
        itself later (PermissionDenied)."""
        refuse_box(plan, after_s)
        if not self.can_time_box:
            raise PermissionDenied(
                f"the {self.connector.kind} connector cannot revert a change by itself later"
            )

    def revert_later(self, result: ApplyResult, after_s: float) -> None:
        """A time-boxed change: have ``result`` undone after ``after_s`` seconds (through this same
        pipeline). The seam only: the default hooks refuse (PermissionDenied)."""
        self.hooks.reverts.schedule(self.connector, result, after_s)


def _own_edit(plan: Plan, kind: EditKind, original: Route) -> Plan:
    """The edited route is not drift when what the gateway serves differs from what the caller read
    only in the aspect the caller set: the edit decides that aspect explicitly."""
    served = _before(plan, original.name)
    if original.name not in plan.drift or served is None:
        return plan
    if any(getattr(served, f) != getattr(original, f) for f in _other_fields(kind)):
        return plan
    return replace(plan, drift=tuple(n for n in plan.drift if n != original.name))


def _other_fields(kind: EditKind) -> tuple[str, ...]:
    own = set(FIELDS[kind])
    return tuple(f.name for f in fields(Route) if f.name not in own)


def drift_refusal(plan: Plan) -> str:
    """Why a plan that carries drift is not applied without an explicit choice."""
    return (
        f"this plan would also deploy what it did not change: {', '.join(plan.drift)} "
        "(the gateway serves something else; see the plan's diff and warnings). Apply it with "
        "--adopt to deploy them, or restore what is served first (gatewayctl-tui drift)"
    )


def _before(plan: Plan, name: str) -> Route | None:
    """The route ``name`` as the connector read it while planning (None when the plan leaves it as
    it is, so its "before" is not in the plan)."""
    return next((c.before for c in plan.changes if c.after.name == name), None)
