"""An interactive canary: step a route's weight towards a new backend while watching it.

``CanaryRun.run()`` blocks (drive it from a worker thread). For each step of the plan it moves the
canary's weight through the change pipeline (``connectors.change``: rebase, plan, apply, verify,
history and audit log), then judges the step on what happened since it began (``canary_judge``):
the canary's requests, errors and p99 counted from the metrics source (``MetricsSource.counts``),
never a rate. A step ends after its pause once the canary served ``min_requests`` requests, or
after the maximum wait without them: the run then says so and goes on *unjudged*, or holds and asks
(``on_low_traffic``). A gate crossed, on whatever requests were seen, holds the rollout or aborts it
(all traffic back to stable). The step to 100 % is not taken while no step was judged on enough
requests (``canary_evidence``): the run holds and asks, or stops held (``unjudged``).

At each check the run also reads the route the gateway serves: when someone else changed its
weights (``set-weights``, another console), the run holds and says who changed what, instead of
overwriting their change; resumed, it goes on from the weights now.

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
from dataclasses import replace
from typing import Literal

from .base import ApplyResult, Connector
from .canary_control import RunControl
from .canary_events import FINAL, RETRY, CanaryEvent, EventKind, State
from .canary_evidence import NO_EVIDENCE, Evidence, Unjudged, outside_change, step_progress
from .canary_judge import StepProgress, judge
from .canary_plan import Breach, CanaryPlan, LowTraffic, check_run, first_step
from .canary_state import CanaryBusy, CanaryState, CanaryStateStore, mark_active, record_event
from .canary_views import BackendView, pick_backends, side_by_side, weight_of, weights
from .change import Change
from .errors import ChangeConflict, GatewayError
from .history import Label
from .metrics import MetricsSource
from .metrics.counts import RouteCounts

__all__ = [
    "FINAL",
    "NO_EVIDENCE",
    "BackendView",
    "Breach",
    "CanaryEvent",
    "CanaryPlan",
    "CanaryRun",
    "LowTraffic",
    "State",
    "StepProgress",
    "Unjudged",
    "pick_backends",
    "side_by_side",
]


class CanaryRun(RunControl):
    """A canary run: see the module's docstring."""

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
        unjudged: Unjudged = "ask",
        on_hold: Literal["wait", "stop"] = "wait",
    ) -> None:
        """``restart``: begin at the plan's first step even when the canary already has more traffic
        (by default steps below its weight now are skipped, with a warning). ``resume_from``: a run
        left over by a process that died (``CanaryStateStore.left_over``), carried on from its step.
        ``unjudged``: before the step to 100 % when no step was judged on enough requests, hold and
        ask ("ask"), stop there leaving the run held ("refuse", for a command nobody can answer), or
        go on saying so ("allow"). ``on_hold`` "stop": a hold (weights changed from outside, a gate
        set to hold) ends the run held, its state left for a resume, instead of waiting for someone
        to resume it (a command nobody can answer)."""
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
        super().__init__(weight_of(current, canary))
        self._on_event = on_event
        # The route as this run last saw or set it: each step is an edit of it (rebased, see _set_weight).
        self._base = current
        self._gateway = connector.info().title
        self._store = store if store is not None else CanaryStateStore(self._gateway)
        self._started = resume_from.started if resume_from is not None else time.time()
        self.applied: list[ApplyResult] = []
        self.completed = False  # every step of a plan that ends below 100 % passed
        self.last_event: CanaryEvent | None = None
        self.unjudged = unjudged
        self.on_hold = on_hold
        self.evidence = (
            Evidence(list(resume_from.judged), list(resume_from.unjudged)) if resume_from else Evidence()
        )
        self._set_at = time.time()  # when the run last set (or saw) the route's weights
        self._set_here = False  # the run itself set ``_base``'s weights (not only read them)
        self._left_held = False  # stopped held before promoting without evidence ("refuse")
        self._first, self.warnings = first_step(plan, self._weight, (route, canary), restart, resume_from)

    def views(self, counts: RouteCounts | None = None) -> tuple[BackendView, BackendView]:
        """Stable and canary side by side: declared weights beside the split observed since the step
        began and each backend's current figures."""
        snap = self.metrics.snapshot() if self.metrics is not None and counts is not None else None
        return side_by_side(self.route, self.stable, self.canary, self._weight, snap, counts)

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> State:
        """Step through the plan; returns the final state ("held" when it stopped before promoting
        without evidence, ``unjudged="refuse"``). Call once, from a worker thread."""
        with self._cond:
            if self._state != "ready":
                raise RuntimeError("a canary run can only be started once")
        lock = self._claim()
        with self._cond:
            self._state = "running"
            self._runner = threading.current_thread()
        mark_active(self._gateway, self.route, True)
        try:
            self._save()  # at once: another console or command sees this run going
            steps = ", ".join(map(str, self.plan.steps))
            self._emit("started", f"canary {self.canary} on {self.route}: steps {steps}%", record="start")
            for warning in self.warnings:
                self._emit("warning", warning)
            self._steps()
        finally:
            with self._cond:
                self._runner = None
                if self._state not in FINAL and not self._left_held:
                    self._state = "cancelled"
            mark_active(self._gateway, self.route, False)
            self._store.release(lock)
        return self._state

    def _claim(self) -> int:
        """The route's run lock, or ``CanaryBusy``: one run at a time steps a route, and a run left
        unfinished by a process that died is resumed or aborted, never silently started over."""
        lock = self._store.claim(self.route)
        found = self._store.load(self.route)
        if found is not None and found.run != self.run_id:
            self._store.release(lock)
            raise CanaryBusy(found.describe(), found, left=True)
        return lock

    def _steps(self) -> None:
        steps, n = self.plan.steps, len(self.plan.steps)
        i = self._first
        while i < n:
            weight = steps[i]
            if self._handle_request():
                return
            if weight < self._weight:  # moved past this step from outside (and resumed): never down
                self._emit("warning", f"skipping step {i + 1} ({weight}%): {self.canary} has {self._weight}%")
                i += 1
                continue
            if weight == 100 and not self._may_promote():
                return
            self._step = i
            event = "promote" if weight == 100 else "step"  # the last step is the promotion
            done = self._set_weight(weight, f"canary {self.route}: step {i + 1}/{n}, {weight}%", event)
            if done is None:
                continue  # changed from outside: held, then resumed; this step again, from there
            if not done:
                return
            if weight == 100:
                self._set_final("promoted", f"promoted: {self.canary} takes all traffic on {self.route}")
                return
            self._save()
            went = self._watch_step(i)
            if went is None:
                continue  # at 0 % (set from outside): this step's weight again, nothing to wait for
            if not went:
                return
            i += 1
        # The plan's last step is below 100 %: the run is done there, its state file with it.
        self.completed = True
        self._set_final(
            "cancelled",
            f"done: {self.canary} keeps {self._weight}% of {self.route} (the plan's last step; not promoted)",
        )

    def _may_promote(self) -> bool:
        """Before the step to 100 %: go on when a step was judged on enough requests; otherwise ask
        (hold), stop held, or go on saying so, as ``unjudged`` says."""
        missing = self.evidence.missing(self.plan.min_requests)
        if missing is None:
            return True
        if self.unjudged == "allow":
            self._emit("warning", f"promoting without evidence, as asked: {missing}", record="unjudged")
            return True
        if self.unjudged == "ask":
            return self._hold(f"{missing}; promote anyway or abort", question=missing)
        with self._cond:
            self._state, self._left_held = "held", True
        self._emit("held", f"held at {self._weight}%: {missing}", record="hold")
        self._save(f"held: {missing}")  # left over: --resume watches the step again, --abort aborts
        return False

    def _watch_step(self, index: int) -> bool | None:
        """Judge the step on what happened since it began; True to go on to the next step, None to
        apply this step again (the canary is at 0 %: no request can come to judge)."""
        since, clock, last = time.time(), 0.0, time.monotonic()
        while True:
            if self._handle_request():
                return False
            moved = self._moved()
            if moved is not None:  # someone else changed the weights: hold, never overwrite them
                if not self._hold(f"{moved}; resume to go on from {self._weight}%"):
                    return False
                since, clock, last = time.time(), 0.0, time.monotonic()  # judged afresh from here
                continue
            if self._weight == 0 and self._state == "running":
                return self._at_zero(index)
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
                seen = f"step {index + 1} at {self._weight}%: {progress.requests:,} requests"
                self.evidence.judged.append(seen)
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
            return self._unjudged(index, progress, decision.reason)

    def _at_zero(self, index: int) -> bool | None:
        """At 0 % the canary gets no request: waiting for them would only run out the wait. Go on to
        the plan's first step above 0 from here (this step again when it is above 0), saying so."""
        steps = self.plan.steps
        again = steps[index] > 0
        target = steps[index] if again else steps[index + 1] if index + 1 < len(steps) else 0
        where = f"step {index + 1} ({target}%) again" if again else f"step {index + 2} ({target}%)"
        self._emit(
            "warning",
            f"step {index + 1}/{len(steps)} at 0%: {self.canary} gets no traffic, nothing to judge; "
            f"going on with {where}",
        )
        return None if again else True

    def _unjudged(self, index: int, p: StepProgress, reason: str) -> bool:
        """The maximum wait ran out with too few requests (the gates held on those seen): go on
        unjudged, saying so, or hold and ask, as the plan says."""
        seen = f"{p.requests:,} of {p.min_requests:,} requests"
        if self.plan.on_low_traffic != "continue" and not self._hold(f"{reason}; resume to go on"):
            return False
        self.evidence.unjudged.append(f"step {index + 1} at {self._weight}%: {seen}")
        if self.plan.on_low_traffic == "continue":
            gates = f"{p.gate_values()} on those, within the thresholds" if p.requests else "no gate to check"
            message = (
                f"continued unjudged: {seen} at step {index + 1} ({self._weight}%) in {p.elapsed_s:.0f} s; "
                f"{gates}"
            )
            self._emit("low-traffic", message, record="low-traffic")
        return True

    def _moved(self) -> str | None:
        """Why the run must hold when the route's weights were changed from outside since the run
        last set them (taking the route as it is now as its base: a resume goes on from there)."""
        found = outside_change(self.connector, self._base, self.run_id, self._set_at, self._set_here)
        if found is None:
            return None
        (self._base, reason), self._set_here = found, False
        self._weight, self._set_at = weight_of(self._base, self.canary), time.time()
        return reason

    def _progress(self, index: int, since: float, clock: float) -> tuple[StepProgress, RouteCounts | None]:
        return step_progress(
            self.metrics, (self.route, self.canary), self.plan, (index, self._weight), since, clock
        )

    def _sleep(self) -> None:
        with self._cond:
            if self._request is None:
                self._cond.wait(self.check_every)

    def _hold(self, reason: str, question: str = "") -> bool:
        """Hold until the operator resumes (True) or the run ends (False). ``question``: the hold
        asks to promote without evidence (the console puts the question)."""
        with self._cond:
            if self._state in FINAL:
                return False
            self._state = "held"
            self._left_held = self.on_hold == "stop"
        self._emit("held", f"held at {self._weight}%: {reason}", record="hold", question=question)
        self._save(f"held: {reason}")
        if self._left_held:
            return False  # stopped held: left over, for --resume or --abort
        while True:
            with self._cond:
                if self._state != "held" or self._request is not None:
                    break
                self._cond.wait(self.check_every)
            moved = self._moved()  # changed from outside while held: said too, and taken as the base
            if moved is not None:
                self._emit("held", f"held at {self._weight}%: {moved}", record="hold", question=question)
                self._save(f"held: {moved}")
        if self._handle_request():
            return False
        record_event(self.connector, self.run_id, "resume", self.route, f"canary {self.route}: resumed")
        self._save()
        return True

    # -- changes -----------------------------------------------------------------------------------

    def _set_weight(
        self, weight: int, description: str, event: str = "step", hold: bool = True
    ) -> bool | None:
        """Apply a canary weight through the change pipeline; False when the run ended (that failed,
        state failed). The edit is rebased like any other: when someone else changed the route's
        weights since the run last set them, the run holds instead of overwriting them (``hold``;
        None once resumed: the caller tries again from the weights now), or fails."""
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
        except ChangeConflict as exc:
            moved = self._moved() if hold else None
            if moved is None:
                self._set_final("failed", f"{exc.title}: {exc}")
                return False
            return None if self._hold(f"{moved}; resume to go on from {self._weight}%") else False
        except GatewayError as exc:
            self._set_final("failed", f"{exc.title}: {exc}")
            return False
        self._base = next((c.after for c in plan.changes if c.after.name == self.route), edited)
        self._set_at, self._set_here = time.time(), True
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
        description = f"canary {self.route}: {what}, all traffic to {target} ({reason})"
        if self._set_weight(weight, description, what, hold=False):
            self._set_final(final, f"{final}: all traffic on {target} ({reason})")

    def _set_final(self, state: State, message: str) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()
        self._store.clear(self.route)
        kind: EventKind = state  # type: ignore[assignment]  # every final state is also an event kind
        record = state if state in ("failed", "cancelled") else None  # aborts/promotes are changes
        self._emit(kind, message, record=record)

    def _note(self, kind: EventKind, message: str) -> None:
        self._emit(kind, message)

    def _leave(self) -> None:
        with self._cond:
            self.interrupted, self._left_held = True, True  # its state stays as it was, on disk too
        self._save(f"interrupted at {self._weight}%")

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
            judged=list(self.evidence.judged),
            unjudged=list(self.evidence.unjudged),
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
        question: str = "",
    ) -> None:
        stable, canary = self.views(counts)
        event = CanaryEvent(
            kind,
            self._state,
            self._step,
            self._weight,
            message,
            diff,
            stable,
            canary,
            progress=progress,
            question=question,
        )
        self.last_event = event
        if record is not None:
            text = message if message.startswith("canary ") else f"canary {self.route}: {message}"
            record_event(self.connector, self.run_id, record, self.route, text)
        if self._on_event is not None:
            self._on_event(event)
