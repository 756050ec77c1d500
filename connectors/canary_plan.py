"""A canary plan: the weights to step through, how long to watch each step, and when to stop.

Each step is judged on what happened since it began (``canary_judge``): it ends once its pause has
passed and the canary has served ``min_requests`` requests, or after ``max_wait_s`` without them
(low traffic: the run says so, then goes on or holds and asks, as ``on_low_traffic`` says). The
gates are the canary's error rate and p99 over those requests; crossing one holds or aborts the run
(``on_breach``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from .base import Connector
from .errors import Problem, ValidationError
from .metrics import MetricsSource
from .model import Route

if TYPE_CHECKING:
    from .canary_state import CanaryState

Breach = Literal["abort", "hold"]
LowTraffic = Literal["continue", "ask"]


@dataclass(frozen=True)
class CanaryPlan:
    """Canary weights in percent, in order; how long to watch each step; when to stop."""

    steps: tuple[int, ...] = (1, 5, 25, 50, 100)
    pause_s: float = 60.0
    max_error_pct: float = 1.0
    max_p99_ms: float | None = 500.0
    on_breach: Breach = "abort"
    min_requests: int = 20  # canary requests a step needs before it is judged (0: none)
    max_wait_s: float | None = None  # how long a step waits for them (None: four pauses, 1 min at least)
    on_low_traffic: LowTraffic = "continue"  # after max_wait_s without them: go on, or hold and ask

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
        if self.min_requests < 0:
            out.append(Problem("min_requests", f"{self.min_requests} requests makes no sense (0 or more)"))
        if self.max_wait_s is not None and not (math.isfinite(self.max_wait_s) and self.max_wait_s > 0):
            out.append(
                Problem(
                    "max_wait_s", f"the maximum wait must be a positive duration, not {self.max_wait_s:g}"
                )
            )
        if self.on_low_traffic not in ("continue", "ask"):
            out.append(Problem("on_low_traffic", f"{self.on_low_traffic!r} is not 'continue' or 'ask'"))
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = list(self.steps)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CanaryPlan:
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in data.items() if k in known}
        fields["steps"] = tuple(fields.get("steps") or ())
        return cls(**fields).validated()


def check_run(
    connector: Connector, metrics: MetricsSource | None, route: str, stable: str, canary: str
) -> Route:
    """The route, or ValidationError with every reason a canary of it cannot run."""
    problems: list[Problem] = []
    if metrics is None:
        problems.append(Problem("metrics", "a canary needs live metrics to watch, and this gateway has none"))
    if stable == canary:
        problems.append(Problem("canary", "the canary and the stable backend must differ"))
    current = connector.get_route(route)
    names = {b.name for b in current.backends}
    for role, name in (("stable", stable), ("canary", canary)):
        if name not in names:
            have = ", ".join(sorted(names))
            problems.append(Problem(role, f"route {route} has no backend {name!r} (it has: {have})"))
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
    return current


def first_step(
    plan: CanaryPlan, now: int, names: tuple[str, str], restart: bool, resume_from: CanaryState | None
) -> tuple[int, tuple[str, ...]]:
    """Where a run begins (an index into ``plan.steps``) when the canary has ``now`` % of the route,
    and what the operator must be told about it. A canary never moves traffic down by itself."""
    route, canary = names
    steps = plan.steps
    if resume_from is not None:
        return max(0, resume_from.step), (f"resuming: {resume_from.describe()}",)
    if now <= steps[0]:
        return 0, ()
    if restart:
        return 0, (f"{canary} has {now}% of {route} now: the first step cuts it to {steps[0]}%",)
    first = next((i for i, s in enumerate(steps) if s >= now), None)
    if first is None:  # every step would move traffic down, off the canary: refuse
        why = f"{canary} already has {now}% of {route}, more than every step"
        up = f"a canary only moves traffic up (restart the plan to cut it to {steps[0]}%)"
        raise ValidationError([Problem("steps", f"{why} ({', '.join(map(str, steps))}%): {up}")])
    skipped = ", ".join(f"{s}%" for s in steps[:first])
    return first, (
        f"{canary} already has {now}% of {route}: starting at {steps[first]}% "
        f"(skipping {skipped}; restart the plan to begin at {steps[0]}%)",
    )
