"""How a canary step is judged: on what happened since the step began, never on a 1-second rate.

A step ends when its pause has passed *and* the canary has served ``min_requests`` requests since
the step began, or when ``max_wait_s`` has passed without them (low traffic: the run says so, then
goes on or holds for the operator, as the plan says). The gates (the canary's error rate and p99
over those requests) are judged as soon as there are ``min_requests`` of them, and once more when
the step ends; a gate crossed holds or aborts the run at once.

    judge(progress, plan)  ->  Decision("wait" | "pass" | "breach" | "low-traffic", reason)

Pure: the run (``connectors.canary``) feeds it counts from ``MetricsSource.counts``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .canary_plan import CanaryPlan

Outcome = Literal["wait", "pass", "breach", "low-traffic"]
DEFAULT_MAX_WAIT_FACTOR = 4.0
MIN_DEFAULT_MAX_WAIT_S = 60.0


def max_wait(plan: CanaryPlan) -> float:
    """How long a step waits for ``min_requests``: the plan's, else four pauses (a minute at least)."""
    if plan.max_wait_s is not None:
        return max(plan.max_wait_s, plan.pause_s)
    return max(plan.pause_s * DEFAULT_MAX_WAIT_FACTOR, MIN_DEFAULT_MAX_WAIT_S)


@dataclass(frozen=True)
class StepProgress:
    """Where a step stands: its clock (pauses left out) and the canary's counts since it began."""

    step: int  # index into plan.steps
    steps: int
    weight: int
    elapsed_s: float
    requests: int  # canary requests since the step began
    errors: int  # 5xx among them
    p99_ms: float | None
    min_requests: int
    pause_s: float
    max_wait_s: float
    max_error_pct: float
    max_p99_ms: float | None
    backend: str = "canary"  # the canary backend's name, for the sentences

    @property
    def error_pct(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 0.0

    @property
    def enough(self) -> bool:
        return self.requests >= self.min_requests

    @property
    def time_left_s(self) -> float:
        """Until the step can end: the pause, or (short of requests) the maximum wait."""
        until = self.pause_s if self.enough else self.max_wait_s
        return max(0.0, until - self.elapsed_s)

    def gate_values(self) -> str:
        """``errors 0.0%, p99 1.2 ms``: the gates' values over the requests seen."""
        p99 = "" if self.p99_ms is None else f", p99 {_ms(self.p99_ms)} ms"
        return f"errors {self.error_pct:.1f}%{p99}"

    def text(self) -> str:
        """One line for the live status: requests seen, time left, gate values."""
        seen = (
            f"{self.requests:,} of {self.min_requests:,} canary requests"
            if self.min_requests
            else (f"{self.requests:,} canary requests")
        )
        gates = f"errors {self.error_pct:.1f}% (max {self.max_error_pct:g}%)"
        if self.max_p99_ms is not None:
            p99 = "-" if self.p99_ms is None else f"{_ms(self.p99_ms)} ms"
            gates += f", p99 {p99} (max {self.max_p99_ms:g} ms)"
        left = math.ceil(self.time_left_s)
        return f"step {self.step + 1}/{self.steps} at {self.weight}%: {seen}, {left} s left; {gates}"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str = ""


def breach(p: StepProgress) -> str | None:
    """The gate the canary's counts cross, if any."""
    if not p.requests:
        return None
    if p.error_pct > p.max_error_pct:
        share = f"{p.error_pct:.1f}% ({p.errors} of {p.requests})"
        return f"{p.backend} errors {share} > {p.max_error_pct:g}% threshold"
    if p.max_p99_ms is not None and p.p99_ms is not None and p.p99_ms > p.max_p99_ms:
        return f"{p.backend} p99 {_ms(p.p99_ms)} ms > {p.max_p99_ms:g} ms threshold"
    return None


def judge(p: StepProgress) -> Decision:
    """What the run does now at this step."""
    out_of_time = p.elapsed_s >= p.max_wait_s
    if p.enough or (out_of_time and p.elapsed_s >= p.pause_s):
        reason = breach(p)
        if reason is not None:
            return Decision("breach", reason)
    if p.elapsed_s < p.pause_s:
        return Decision("wait")
    if p.enough:
        return Decision("pass", f"{p.requests:,} canary requests, {p.gate_values()}: within the thresholds")
    if out_of_time:
        return Decision(
            "low-traffic",
            f"not enough canary traffic to judge step {p.step + 1}: {p.requests:,} of "
            f"{p.min_requests:,} requests in {p.elapsed_s:.0f} s",
        )
    return Decision("wait")


def _ms(value: float) -> str:
    """Milliseconds as read: whole above 10 ms, one decimal below (a local backend answers in 0.5 ms)."""
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
