"""What a canary run reports: its states and its events (a step, a hold, an abort), for the
console's view, the ``canary`` command's output, the history and the audit log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from .canary_judge import StepProgress
from .canary_views import BackendView

State = Literal["ready", "running", "paused", "held", "aborted", "promoted", "failed", "cancelled"]
FINAL: frozenset[State] = frozenset({"aborted", "promoted", "failed", "cancelled"})
RETRY = "The run stopped so as not to overwrite that change; start a new canary from the current weights."
EventKind = Literal[
    "started",
    "warning",
    "step",
    "watch",
    "passed",
    "low-traffic",
    "breach",
    "held",
    "paused",
    "resumed",
    "aborted",
    "promoted",
    "failed",
    "cancelled",
]


@dataclass(frozen=True)
class CanaryEvent:
    """One thing a canary run did or saw (a step, a hold, an abort), for the screen and history."""

    kind: EventKind
    state: State
    step: int  # index into plan.steps, -1 before the first
    weight: int  # the canary's declared weight after this event
    message: str
    diff: str = ""  # the applied plan's model diff, for step/abort/promote
    stable: BackendView | None = None
    canary: BackendView | None = None
    time: float = field(default_factory=time.time)
    progress: StepProgress | None = None  # the step's counts, clock and gates (``watch`` events)
    question: str = ""  # a hold that asks the operator to promote without evidence: why
