"""An interactive canary: step a route's weight towards a new backend while watching it.

``CanaryRun.run()`` blocks (drive it from a worker thread). For each step of the plan it moves the
canary's weight through the change pipeline (``connectors.change``: rebase, plan, apply, verify,
history and audit log), then watches the canary backend's error % and p99 latency for ``pause_s``
seconds. A threshold crossed holds the rollout or aborts it (all traffic back to stable) by itself.
The operator can ``pause()``/``resume()`` the clock, ``abort()`` or ``promote()`` (100 % canary) at
any time, from any thread; every change made is reported through ``on_event``.

Judgement needs fresh traffic: after each change nothing is counted until the metrics source's rate
window has passed (before that its figures still mix in the previous weight); errors are then counted
over the rest of the step (rate times time), and nothing is judged before the canary has served
``min_requests`` requests. A step whose pause ends with too little traffic gets a second pause, then
holds instead of moving on blind.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from .base import ApplyResult, Connector
from .change import Change
from .errors import GatewayError, Problem, ValidationError
from .metrics import MetricsSource, RouteStats, Snapshot
from .model import Route, WeightedBackend

Breach = Literal["abort", "hold"]
State = Literal["ready", "running", "paused", "held", "aborted", "promoted", "failed", "cancelled"]
FINAL: frozenset[State] = frozenset({"aborted", "promoted", "failed", "cancelled"})
RETRY = "The run stopped so as not to overwrite that change; start a new canary from the current weights."
EventKind = Literal[
    "started",
    "step",
    "watch",
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
class CanaryPlan:
    """Canary weights in percent, in order; how long to watch each step; when to stop."""

    steps: tuple[int, ...] = (1, 5, 25, 50, 100)
    pause_s: float = 60.0
    max_error_pct: float = 1.0
    max_p99_ms: float | None = 500.0
    on_breach: Breach = "abort"
    min_requests: int = 20

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        if not self.steps:
            out.append(Problem("steps", "give at least one step (e.g. 1, 5, 25, 50, 100)"))
        for i, s in enumerate(self.steps):
            if not isinstance(s, int) or isinstance(s, bool):
                out.append(Problem(f"steps[{i}]", f"{s!r} is not a whole percentage"))
            elif s < 0:
                out.append(Problem(f"steps[{i}]", f"{s}% is below 0%"))
            elif s > 100:
                out.append(Problem(f"steps[{i}]", f"{s}% is above 100%"))
        for i in range(1, len(self.steps)):
            if self.steps[i] <= self.steps[i - 1]:
                out.append(
                    Problem(
                        f"steps[{i}]",
                        f"steps must increase: {self.steps[i]}% comes after {self.steps[i - 1]}%",
                    )
                )
        if not (math.isfinite(self.pause_s) and self.pause_s > 0):
            out.append(
                Problem("pause_s", f"the pause must be a positive number of seconds, not {self.pause_s:g}")
            )
        if not (math.isfinite(self.max_error_pct) and 0 <= self.max_error_pct < 100):
            out.append(
                Problem(
                    "max_error_pct",
                    f"an error threshold of {self.max_error_pct:g}% makes no sense (use 0 to under 100)",
                )
            )
        if self.max_p99_ms is not None and not (math.isfinite(self.max_p99_ms) and self.max_p99_ms > 0):
            out.append(Problem("max_p99_ms", f"a p99 threshold of {self.max_p99_ms:g} ms makes no sense"))
        if self.on_breach not in ("abort", "hold"):
            out.append(Problem("on_breach", f"{self.on_breach!r} is not 'abort' or 'hold'"))
        if self.min_requests < 1:
            out.append(Problem("min_requests", "at least one request is needed to judge a step"))
        return out

    def validated(self) -> CanaryPlan:
        problems = self.problems()
        if problems:
            raise ValidationError(problems)
        return self

    @classmethod
    def parse(
        cls,
        steps: str,
        pause: str,
        max_error_pct: str,
        max_p99_ms: str,
        on_breach: str = "abort",
    ) -> CanaryPlan:
        """A plan from what an operator types: ``"1, 5, 25, 50, 100"``, ``"30"``, ``"1.5"``, ``"400"``
        (an empty p99 means no latency threshold). Raises ValidationError with every problem."""
        from .model.durations import parse_duration

        problems: list[Problem] = []
        parsed_steps: list[int] = []
        positions: list[int] = []  # where each parsed step was in what the operator typed
        for i, part in enumerate(steps.replace(",", " ").split()):
            try:
                parsed_steps.append(int(part.rstrip("%")))
                positions.append(i)
            except ValueError:
                problems.append(Problem(f"steps[{i}]", f"{part!r} is not a whole percentage"))

        def number(path: str, text: str, convert: Callable[[str], float]) -> float:
            try:
                return convert(text.strip())
            except (ValueError, TypeError):
                problems.append(Problem(path, f"{text!r} is not a number"))
                return math.nan

        pause_s = number(
            "pause_s", pause, lambda t: float(t) if t.replace(".", "", 1).isdigit() else parse_duration(t)
        )
        err = number("max_error_pct", max_error_pct, lambda t: float(t.rstrip("%")))
        p99 = number("max_p99_ms", max_p99_ms, float) if max_p99_ms.strip() else None
        plan = cls(tuple(parsed_steps), pause_s, err, p99, on_breach)  # type: ignore[arg-type]
        for p in plan.problems():
            m = re.fullmatch(r"steps\[(\d+)\]", p.path)
            path = f"steps[{positions[int(m[1])]}]" if m else p.path
            if not any(q.path == path for q in problems):
                problems.append(Problem(path, p.message))
        if problems:
            raise ValidationError(problems)
        return plan


@dataclass(frozen=True)
class BackendView:
    """One side of the side-by-side view: declared weight and what the metrics observe."""

    backend: str
    declared_pct: float
    observed_pct: float | None  # share of the route's requests this backend served
    rps: float = 0.0
    error_pct: float = 0.0
    p99_ms: float | None = None


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
    ) -> None:
        self.plan = plan.validated()
        problems: list[Problem] = []
        if metrics is None:
            problems.append(
                Problem("metrics", "a canary needs live metrics to watch, and this gateway has none")
            )
        if stable == canary:
            problems.append(Problem("canary", "the canary and the stable backend must differ"))
        current = connector.get_route(route)
        names = {b.name for b in current.backends}
        for role, name in (("stable", stable), ("canary", canary)):
            if name not in names:
                problems.append(
                    Problem(
                        role, f"route {route} has no backend {name!r} (it has: {', '.join(sorted(names))})"
                    )
                )
        others = [b.name for b in current.backends if b.name not in (stable, canary) and b.weight > 0]
        if others:
            problems.append(
                Problem(
                    "backends",
                    f"route {route} also sends traffic to {', '.join(others)}; set their weight to 0 first",
                )
            )
        if problems:
            raise ValidationError(problems)
        self.connector = connector
        self.metrics = metrics
        self.route = route
        self.stable = stable
        self.canary = canary
        self.check_every = check_every
        self._on_event = on_event
        self._cond = threading.Condition()
        self._state: State = "ready"
        self._step = -1
        self._weight = _weight_of(current, canary)
        # The route as this run last saw or set it: each step is an edit of it (rebased, see _set_weight).
        self._base = current
        self._request: Literal["abort", "promote", "cancel"] | None = None
        self._runner: threading.Thread | None = None
        self.applied: list[ApplyResult] = []
        self.last_event: CanaryEvent | None = None

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

    def views(self, snapshot: Snapshot | None = None) -> tuple[BackendView, BackendView]:
        """Stable and canary side by side: declared weights beside the observed split and health."""
        return side_by_side(self.route, self.stable, self.canary, self._weight, snapshot)

    # -- control (any thread) ----------------------------------------------------------------------

    def pause(self) -> None:
        with self._cond:
            if self._state != "running":
                return
            self._state = "paused"
            self._cond.notify_all()
        self._emit("paused", "paused: the step clock is stopped")

    def resume(self) -> None:
        with self._cond:
            if self._state not in ("paused", "held"):
                return
            self._state = "running"
            self._cond.notify_all()
        self._emit("resumed", "resumed")

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
        try:
            self._emit(
                "started",
                f"canary {self.canary} on {self.route}: steps {', '.join(map(str, self.plan.steps))}%",
            )
            for i, weight in enumerate(self.plan.steps):
                if self._handle_request():
                    break
                self._step = i
                if not self._set_weight(
                    weight, f"canary {self.route}: step {i + 1}/{len(self.plan.steps)}, {weight}%"
                ):
                    break
                if weight == 100:
                    self._set_final("promoted", f"{self.canary} takes all traffic on {self.route}")
                    break
                if not self._watch_step(i):
                    break
        finally:
            with self._cond:
                self._runner = None
                if self._state not in FINAL:
                    self._state = "cancelled"
        return self._state

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
        """Watch the canary for ``pause_s``; True to go on to the next step."""
        requests = errors = 0.0
        watched = 0.0
        last = applied = time.monotonic()
        # Until the source's rate window has passed, its figures still include the previous weight.
        settle = self.metrics.rate_window_s if self.metrics is not None else 0.0
        while True:
            if self._handle_request():
                return False
            now = time.monotonic()
            dt = now - last if self._state == "running" else 0.0
            watched += dt
            last = now
            snap = self.metrics.snapshot() if self.metrics is not None else None
            stable_view, canary_view = self.views(snap)
            settled = now - applied >= settle
            if self._state == "running" and snap is not None and snap.ok and settled:
                span = dt or self.check_every
                requests += canary_view.rps * span
                errors += canary_view.rps * canary_view.error_pct / 100 * span
            self._emit(
                "watch", self._watch_text(snap, requests, watched), stable=stable_view, canary=canary_view
            )
            reason = self._breach(requests, errors, canary_view)
            if reason is not None:
                self._emit("breach", reason, stable=stable_view, canary=canary_view)
                if self.plan.on_breach == "abort":
                    self._finish("abort", reason)
                    return False
                self._hold(reason)
                requests = errors = 0.0  # judged afresh after the operator resumes
                continue
            if watched >= self.plan.pause_s and settled and self._state == "running":
                if requests >= self.plan.min_requests:
                    return True
                # Thin traffic gets a second pause to reach min_requests before the run holds.
                if watched >= 2 * self.plan.pause_s + settle:
                    self._hold(
                        f"not enough canary traffic to judge step {index + 1} "
                        f"(~{requests:.0f} of {self.plan.min_requests} requests); resume to go on"
                    )
                    watched = 0.0
                    continue
            with self._cond:
                if self._request is None:
                    self._cond.wait(self.check_every)

    def _breach(self, requests: float, errors: float, view: BackendView) -> str | None:
        if requests < self.plan.min_requests:
            return None
        error_pct = 100.0 * errors / requests if requests else 0.0
        if error_pct > self.plan.max_error_pct:
            return f"{self.canary} errors {error_pct:.1f}% > {self.plan.max_error_pct:g}% threshold"
        limit = self.plan.max_p99_ms
        if limit is not None and view.p99_ms is not None and view.rps > 0 and view.p99_ms > limit:
            return f"{self.canary} p99 {view.p99_ms:.0f} ms > {self.plan.max_p99_ms:g} ms threshold"
        return None

    def _watch_text(self, snap: Snapshot | None, requests: float, watched: float) -> str:
        if snap is None or not snap.ok:
            return f"no metrics: {snap.status if snap is not None else 'no source'}"
        clock = f"{watched:.0f}/{self.plan.pause_s:g} s"
        return f"watching {self._weight}%: {clock}, ~{requests:.0f} canary requests"

    def _hold(self, reason: str) -> None:
        with self._cond:
            if self._state in FINAL:
                return
            self._state = "held"
        self._emit("held", f"held at {self._weight}%: {reason}")
        with self._cond:
            while self._state == "held" and self._request is None:
                self._cond.wait(self.check_every)

    # -- changes -----------------------------------------------------------------------------------

    def _set_weight(self, weight: int, description: str) -> bool:
        """Apply a canary weight through the change pipeline; False (state failed) when that fails.
        The edit is rebased like any other: someone else's change of the route's weights since the
        run last set them stops the run (Changed by someone else) instead of being overwritten."""
        change = Change(self.connector)
        base = self._base
        edited = replace(base, backends=_weights(base, self.stable, self.canary, weight))
        try:
            plan = change.plan_edit("weights", base, edited, since="the canary last set them", retry=RETRY)
            if plan.is_empty:
                self._weight = weight
                self._emit("step", f"{description} (already in place)")
                return True
            result = change.apply(plan)
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
        if self._set_weight(weight, f"canary {self.route}: {what}, all traffic to {target} ({reason})"):
            self._set_final(final, f"{final}: all traffic on {target} ({reason})")

    def _set_final(self, state: State, message: str) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()
        kind: EventKind = state  # type: ignore[assignment]  # every final state is also an event kind
        self._emit(kind, message)

    def _emit(
        self,
        kind: EventKind,
        message: str,
        *,
        diff: str = "",
        stable: BackendView | None = None,
        canary: BackendView | None = None,
    ) -> None:
        if stable is None or canary is None:
            stable, canary = self.views(None)
        event = CanaryEvent(kind, self._state, self._step, self._weight, message, diff, stable, canary)
        self.last_event = event
        if self._on_event is not None:
            self._on_event(event)


def side_by_side(
    route: str, stable: str, canary: str, canary_weight: float, snapshot: Snapshot | None
) -> tuple[BackendView, BackendView]:
    """Stable and canary views of ``route`` from a metrics snapshot (observed figures None without)."""
    stats = snapshot.routes.get(route) if snapshot is not None and snapshot.ok else None
    return (
        _view(stable, 100 - canary_weight, stats, (stable, canary)),
        _view(canary, canary_weight, stats, (stable, canary)),
    )


def pick_backends(route: Route) -> tuple[str, str] | None:
    """The natural (stable, canary) pair of a route: the heaviest backend is stable, the next the
    canary; None for a route with a single backend."""
    ordered = sorted(route.backends, key=lambda b: -b.weight)
    return (ordered[0].name, ordered[1].name) if len(ordered) >= 2 else None


def _weight_of(route: Route, backend: str) -> int:
    return round(route.weight_share().get(backend, 0.0))


def _weights(route: Route, stable: str, canary: str, weight: int) -> tuple[WeightedBackend, ...]:
    """Percent weights with ``weight`` on the canary, the rest on stable, 0 elsewhere (the route's
    weight mode is kept: relative weights are written as the same percentages)."""
    out = []
    for b in route.backends:
        w = weight if b.name == canary else 100 - weight if b.name == stable else 0
        out.append(WeightedBackend(b.name, w))
    return tuple(out)


def _view(name: str, declared: float, stats: RouteStats | None, pair: Sequence[str]) -> BackendView:
    if stats is None:
        return BackendView(name, declared, None)
    b = stats.backends.get(name)
    total = sum(s.rps for n, s in stats.backends.items() if n in pair)
    observed = 100.0 * b.rps / total if b is not None and total > 0 else (0.0 if total > 0 else None)
    if b is None:
        return BackendView(name, declared, observed)
    return BackendView(name, declared, observed, b.rps, b.error_pct, b.p99_ms)
