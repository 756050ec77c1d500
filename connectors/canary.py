"""An interactive canary: step a route's weight towards a new backend while watching it.

``CanaryRun.run()`` blocks (drive it from a worker thread). For each step of the plan it moves the
canary's weight through the change pipeline (``connectors.change``: rebase, plan, apply, verify,
history and audit log), then judges the step on what happened since it began (``canary_judge``):
the canary's requests, errors and p99 counted from the metrics source (``MetricsSource.counts``),
never a rate. A step ends after its pause once the canary served ``min_requests`` requests, or
after the maximum wait without them: the run then says so and goes on, or holds and asks
(``on_low_traffic``). A gate crossed holds the rollout or aborts it (all traffic back to stable).

The operator can ``pause()``/``resume()`` the clock, ``abort()`` or ``promote()`` (100 % canary) at
any time, from any thread. Every change and every hold is reported through ``on_event`` (a
``watch`` event each check carries the step's progress), recorded in the history and the audit log
as a canary event, and saved in a state file (``canary_state``) so a run whose process died can be
found and resumed or aborted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from .base import ApplyResult, Connector
from .canary_judge import StepProgress, judge, max_wait
from .canary_plan import Breach, CanaryPlan, LowTraffic, check_run
from .canary_state import CanaryState, CanaryStateStore, mark_active, record_event
from .canary_views import BackendView, pick_backends, side_by_side, weight_of, weights
from .change import Change
from .errors import GatewayError, Problem, ValidationError
from .history import Label
from .metrics import MetricsSource
from .metrics.counts import RouteCounts

__all__ = [
    "FINAL",
    "BackendView",
    "Breach",
    "CanaryEvent",
    "CanaryPlan",
    "CanaryRun",
    "LowTraffic",
    "StepProgress",
    "pick_backends",
    "side_by_side",
]

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


class CanaryRun:
    def __init__(
        self,
        connector: Connector,
        metrics: MetricsSource | None,
        route: str,
        stable: str,
        canary: str,
        plan: CanaryPlan,
        *,
        on_event: Callable[[CanaryEvent], None] | None = None,
        check_every: float = 1.0,
        restart: bool = False,
        resume_from: CanaryState | None = None,
        store: CanaryStateStore | None = None,
    ) -> None:
        """``restart``: begin at the plan's first step even when the canary already has more traffic
        (by default steps below its weight now are skipped, with a warning). ``resume_from``: a run
        left over by a process that died (``CanaryStateStore.left_over``), carried on from its step."""
        self.plan = plan.validated()
        Change(connector).require("weights")  # read-only: refused before anything is written
        current = check_run(connector, metrics, route, stable, canary)
        self.connector = connector
        self.metrics = metrics
        self.route = route
        self.stable = stable
        self.canary = canary
        self.check_every = check_every
        self.run_id = resume_from.run if resume_from is not None else os.urandom(4).hex()
        self._on_event = on_event
        self._cond = threading.Condition()
        self._state: State = "ready"
        self._step = -1
        self._weight = weight_of(current, canary)
        # The route as this run last saw or set it: each step is an edit of it (rebased, see _set_weight).
        self._base = current
        self._request: Literal["abort", "promote", "cancel"] | None = None
        self._runner: threading.Thread | None = None
        self._gateway = connector.info().title
        self._store = store if store is not None else CanaryStateStore(self._gateway)
        self._started = resume_from.started if resume_from is not None else time.time()
        self.applied: list[ApplyResult] = []
        self.completed = False  # every step of a plan that ends below 100 % passed
        self.last_event: CanaryEvent | None = None
        self._first, self.warnings = self._first_step(restart, resume_from)

    def _first_step(self, restart: bool, resume_from: CanaryState | None) -> tuple[int, tuple[str, ...]]:
        """Where the run begins, and what the operator must be told about it."""
        steps = self.plan.steps
        if resume_from is not None:
            return max(0, resume_from.step), (f"resuming: {resume_from.describe()}",)
        now = self._weight
        if now <= steps[0]:
            return 0, ()
        if restart:
            return 0, (
                f"{self.canary} has {now}% of {self.route} now: the first step cuts it to {steps[0]}%",
            )
        first = next((i for i, s in enumerate(steps) if s >= now), None)
        if first is None:  # every step would move traffic down, off the canary: refuse
            why = f"{self.canary} already has {now}% of {self.route}, more than every step"
            up = f"a canary only moves traffic up (restart the plan to cut it to {steps[0]}%)"
            raise ValidationError([Problem("steps", f"{why} ({', '.join(map(str, steps))}%): {up}")])
        skipped = ", ".join(f"{s}%" for s in steps[:first])
        return first, (
            f"{self.canary} already has {now}% of {self.route}: starting at {steps[first]}% "
            f"(skipping {skipped}; restart the plan to begin at {steps[0]}%)",
        )

    # -- what the screen shows ---------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def step(self) -> int:
        return self._step

    @property
    def weight(self) -> int:
        return self._weight

    def views(self, counts: RouteCounts | None = None) -> tuple[BackendView, BackendView]:
        """Stable and canary side by side: declared weights beside the split observed since the step
        began and each backend's current figures."""
        snap = self.metrics.snapshot() if self.metrics is not None and counts is not None else None
        return side_by_side(self.route, self.stable, self.canary, self._weight, snap, counts)

    # -- control (any thread) ----------------------------------------------------------------------

    def pause(self) -> None:
        with self._cond:
            if self._state != "running":
                return
            self._state = "paused"
            self._cond.notify_all()
        self._emit("paused", "paused: the step clock is stopped")

    def resume(self) -> None:
        """Go on: after a pause the clock runs again; after a hold the run carries on at once (a hold
        for low traffic goes to the next step; a hold for a gate judges the step afresh)."""
        with self._cond:
            if self._state not in ("paused", "held"):
                return
            self._state = "running"
            self._cond.notify_all()
        self._emit("resumed", f"resumed by {self.connector.user}")

    def abort(self) -> None:
        """All traffic back to stable. From another thread while ``run()`` is going, the run does it."""
        self._control("abort")

    def promote(self) -> None:
        """All traffic to the canary."""
        self._control("promote")

    def cancel(self) -> None:
        """Stop stepping and leave the weights as they are (the screen was closed)."""
        with self._cond:
            if self._runner is not None and self._state not in FINAL:
                self._request = "cancel"
                self._cond.notify_all()

    def _control(self, what: Literal["abort", "promote"]) -> None:
        with self._cond:
            if self._state in FINAL:
                return
            if self._runner is not None and self._runner is not threading.current_thread():
                self._request = what
                self._cond.notify_all()
                return
        self._finish(what, f"{what} requested by {self.connector.user}")

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> State:
        """Step through the plan; returns the final state. Call once, from a worker thread."""
        with self._cond:
            if self._state != "ready":
                raise RuntimeError("a canary run can only be started once")
            self._state = "running"
            self._runner = threading.current_thread()
        mark_active(self._gateway, self.route, True)
        try:
            steps = ", ".join(map(str, self.plan.steps))
            self._emit("started", f"canary {self.canary} on {self.route}: steps {steps}%", record="start")
            for warning in self.warnings:
                self._emit("warning", warning)
            self._steps()
        finally:
            with self._cond:
                self._runner = None
                if self._state not in FINAL:
                    self._state = "cancelled"
            mark_active(self._gateway, self.route, False)
        return self._state

    def _steps(self) -> None:
        n = len(self.plan.steps)
        for i in range(self._first, n):
            weight = self.plan.steps[i]
            if self._handle_request():
                return
            self._step = i
            event = "promote" if weight == 100 else "step"  # the last step is the promotion
            if not self._set_weight(weight, f"canary {self.route}: step {i + 1}/{n}, {weight}%", event):
                return
            if weight == 100:
                self._set_final("promoted", f"promoted: {self.canary} takes all traffic on {self.route}")
                return
            self._save()
            if not self._watch_step(i):
                return
        # The plan's last step is below 100 %: the run is done there, its state file with it.
        self.completed = True
        self._set_final(
            "cancelled",
            f"done: {self.canary} keeps {self._weight}% of {self.route} (the plan's last step; not promoted)",
        )

    def _handle_request(self) -> bool:
        """Carry out an abort/promote/cancel asked for from another thread; True when the run ends."""
        with self._cond:
            request, self._request = self._request, None
        if request is None:
            return self._state in FINAL
        if request == "cancel":
            self._set_final("cancelled", f"stopped; weights left at {self._weight}% canary")
        else:
            self._finish(request, f"{request} requested by {self.connector.user}")
        return True

    def _watch_step(self, index: int) -> bool:
        """Judge the step on what happened since it began; True to go on to the next step."""
        since, clock, last = time.time(), 0.0, time.monotonic()
        while True:
            if self._handle_request():
                return False
            now = time.monotonic()
            clock += now - last if self._state == "running" else 0.0
            last = now
            progress, counts = self._progress(index, since, clock)
            self._emit("watch", progress.text(), progress=progress, counts=counts)
            decision = judge(progress) if self._state == "running" else None
            if decision is None or decision.outcome == "wait":
                self._sleep()
                continue
            if decision.outcome == "pass":
                self._emit("passed", f"step {index + 1} passed: {decision.reason}")
                return True
            if decision.outcome == "breach":
                self._emit("breach", decision.reason)
                if self.plan.on_breach == "abort":
                    self._finish("abort", decision.reason)
                    return False
                if not self._hold(decision.reason):
                    return False
                since, clock = time.time(), 0.0  # judged afresh from the resume
                continue
            if self.plan.on_low_traffic == "continue":
                self._emit("low-traffic", f"{decision.reason}; going on", record="low-traffic")
                return True
            return self._hold(f"{decision.reason}; resume to go on")

    def _progress(self, index: int, since: float, clock: float) -> tuple[StepProgress, RouteCounts | None]:
        # Strict: from the first reading after the step began, never the previous step's traffic.
        counts = self.metrics.counts(since, strict=True) if self.metrics is not None else None
        mine = counts.routes.get(self.route) if counts is not None and counts.ok else None
        c = mine.backends.get(self.canary) if mine is not None else None
        plan = self.plan
        progress = StepProgress(
            index,
            len(plan.steps),
            self._weight,
            clock,
            c.requests if c is not None else 0,
            c.errors if c is not None else 0,
            c.p99_ms if c is not None else None,
            plan.min_requests,
            plan.pause_s,
            max_wait(plan),
            plan.max_error_pct,
            plan.max_p99_ms,
            self.canary,
        )
        return progress, mine

    def _sleep(self) -> None:
        with self._cond:
            if self._request is None:
                self._cond.wait(self.check_every)

    def _hold(self, reason: str) -> bool:
        """Hold until the operator resumes (True) or the run ends (False)."""
        with self._cond:
            if self._state in FINAL:
                return False
            self._state = "held"
        self._emit("held", f"held at {self._weight}%: {reason}", record="hold")
        self._save(f"held: {reason}")
        with self._cond:
            while self._state == "held" and self._request is None:
                self._cond.wait(self.check_every)
        if self._handle_request():
            return False
        record_event(self.connector, self.run_id, "resume", self.route, f"canary {self.route}: resumed")
        self._save()
        return True

    # -- changes -----------------------------------------------------------------------------------

    def _set_weight(self, weight: int, description: str, event: str = "step") -> bool:
        """Apply a canary weight through the change pipeline; False (state failed) when that fails.
        The edit is rebased like any other: someone else's change of the route's weights since the
        run last set them stops the run (Changed by someone else) instead of being overwritten."""
        change = Change(self.connector)
        base = self._base
        edited = replace(base, backends=weights(base, self.stable, self.canary, weight))
        try:
            plan = change.plan_edit("weights", base, edited, since="the canary last set them", retry=RETRY)
            if plan.is_empty:
                self._weight = weight
                self._emit("step", f"{description} (already in place)")
                return True
            result = change.apply(plan, label=Label("canary", event, self.run_id))
        except GatewayError as exc:
            self._set_final("failed", f"{exc.title}: {exc}")
            return False
        self._base = next((c.after for c in plan.changes if c.after.name == self.route), edited)
        self.applied.append(result)
        self._weight = weight
        ok = result.verification.ok
        note = "" if ok else " — not verified: " + "; ".join(result.verification.details)
        self._emit("step", f"{description}{note}", diff=plan.model_diff)
        return True

    def _finish(self, what: Literal["abort", "promote"], reason: str) -> None:
        weight = 0 if what == "abort" else 100
        final: State = "aborted" if what == "abort" else "promoted"
        target = self.stable if what == "abort" else self.canary
        if self._set_weight(weight, f"canary {self.route}: {what}, all traffic to {target} ({reason})", what):
            self._set_final(final, f"{final}: all traffic on {target} ({reason})")

    def _set_final(self, state: State, message: str) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()
        self._store.clear(self.route)
        kind: EventKind = state  # type: ignore[assignment]  # every final state is also an event kind
        record = state if state in ("failed", "cancelled") else None  # aborts/promotes are changes
        self._emit(kind, message, record=record)

    def _save(self, message: str = "") -> None:
        """The run's state on disk, for a process that finds it after this one died."""
        last = message or (self.last_event.message if self.last_event is not None else "")
        state = CanaryState(
            self.run_id,
            self._gateway,
            self.route,
            self.stable,
            self.canary,
            self.plan.to_json(),
            self._step,
            self._weight,
            "held" if self._state == "held" else "running",
            last,
            self._started,
        )
        self._store.save(state)

    def _emit(
        self,
        kind: EventKind,
        message: str,
        *,
        diff: str = "",
        progress: StepProgress | None = None,
        counts: RouteCounts | None = None,
        record: str | None = None,
    ) -> None:
        stable, canary = self.views(counts)
        event = CanaryEvent(
            kind, self._state, self._step, self._weight, message, diff, stable, canary, progress=progress
        )
        self.last_event = event
        if record is not None:
            text = message if message.startswith("canary ") else f"canary {self.route}: {message}"
            record_event(self.connector, self.run_id, record, self.route, text)
        if self._on_event is not None:
            self._on_event(event)
