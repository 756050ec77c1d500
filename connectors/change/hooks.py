"""Where later work plugs into the change pipeline, each with a default that does nothing.

``Change`` calls these at fixed points; a connector returns its own from ``Connector.change_hooks()``
(or a caller passes them to ``Change(connector, hooks=...)``):

    plan_*()   DriftCheck.before_plan      before anything is planned: compare what the gateway
                                           serves with what this tool last wrote; return warnings
                                           for the plan, or raise (e.g. ChangeConflict) to refuse
    apply()    Journal.intent              before the connector writes anything (crash safety: an
                                           intent without a completion is a change to reconcile)
               Journal.abandoned           the connector's write failed (its contract: the old
                                           config still serves); not called when verify or record
                                           fails after a write, so that intent stays open
               Journal.completed           after verify and after history + audit are written
    revert_later()  RevertScheduler.schedule   a time-boxed change: undo ``result`` after ``after_s``
                    RevertScheduler.run_due    carried out by whoever runs beside the gateway
                                               (``timebox.FileTimeBoxes``: native)

Hooks run on the caller's thread (a worker in the console) and may block; they must not print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..errors import PermissionDenied

if TYPE_CHECKING:
    from ..base import ApplyResult, Connector, Plan
    from ..history import HistoryEntry
    from .timebox import TimeBox


class DriftCheck(Protocol):
    def before_plan(self, connector: Connector) -> tuple[str, ...]:
        """Warnings to show with the next plan (empty when the gateway is as expected). Raise a
        ``GatewayError`` to refuse planning altogether."""
        ...


class Journal(Protocol):
    def intent(self, plan: Plan) -> None:
        """Durably note that ``plan`` is about to be written (before the first write)."""
        ...

    def completed(self, plan: Plan, entry: HistoryEntry) -> None:
        """``plan`` was written, verified and recorded as ``entry``."""
        ...

    def abandoned(self, plan: Plan, error: BaseException) -> None:
        """Writing ``plan`` failed before anything took effect; the old config serves."""
        ...


class RevertScheduler(Protocol):
    def schedule(self, connector: Connector, result: ApplyResult, after_s: float) -> None:
        """Undo ``result`` after ``after_s`` seconds unless the operator keeps it."""
        ...

    def boxes(self) -> list[TimeBox]:
        """Every time box kept, pending or done (``timebox.TimeBox``)."""
        ...

    def run_due(self, connector: Connector, now: float | None = None) -> list[TimeBox]:
        """Revert the time boxes whose time is up (through the pipeline); the ones acted on."""
        ...


class NoDriftCheck:
    def before_plan(self, connector: Connector) -> tuple[str, ...]:
        return ()


class NoJournal:
    def intent(self, plan: Plan) -> None:
        return None

    def completed(self, plan: Plan, entry: HistoryEntry) -> None:
        return None

    def abandoned(self, plan: Plan, error: BaseException) -> None:
        return None


class NoReverts:
    """No scheduler: asking for a time-boxed change is refused rather than silently kept forever."""

    def schedule(self, connector: Connector, result: ApplyResult, after_s: float) -> None:
        raise PermissionDenied(f"the {connector.kind} connector cannot revert a change by itself later")

    def boxes(self) -> list[TimeBox]:
        return []

    def run_due(self, connector: Connector, now: float | None = None) -> list[TimeBox]:
        return []


@dataclass(frozen=True)
class ChangeHooks:
    """The pipeline's plug-in points; every default does nothing (or refuses, for reverts)."""

    drift: DriftCheck = field(default_factory=NoDriftCheck)
    journal: Journal = field(default_factory=NoJournal)
    reverts: RevertScheduler = field(default_factory=NoReverts)
