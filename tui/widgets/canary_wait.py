"""How long a canary step waits, as the operator types it: the canary requests a step needs before it
is judged (``min_requests``), and how long it waits for them at most (``max_wait_s``) before it says
"low traffic" and goes on. Empty fields keep the plan's defaults (20 requests; four pauses, a minute
at least)."""

from __future__ import annotations

from dataclasses import replace

from connectors.canary import CanaryPlan
from connectors.errors import Problem, ValidationError
from connectors.model.durations import format_duration, parse_duration

DEFAULT_MIN_REQUESTS = CanaryPlan().min_requests


def with_wait(plan: CanaryPlan, min_requests: str, max_wait: str) -> CanaryPlan:
    """``plan`` with the typed minimum and maximum wait; ValidationError names each bad field."""
    problems: list[Problem] = []
    wanted = plan.min_requests
    if min_requests.strip():
        try:
            wanted = int(min_requests.strip())
        except ValueError:
            problems.append(Problem("min_requests", f"{min_requests.strip()!r} is not a whole number"))
    wait = plan.max_wait_s
    if max_wait.strip():
        text = max_wait.strip()
        try:
            wait = float(text) if text.replace(".", "", 1).isdigit() else parse_duration(text)
        except ValueError:
            problems.append(Problem("max_wait_s", f"{text!r} is not a duration (e.g. 30s, 2m)"))
    if problems:
        raise ValidationError(problems)
    return replace(plan, min_requests=wanted, max_wait_s=wait).validated()


def plan_fields(plan: CanaryPlan) -> dict[str, str]:
    """The plan form's fields (by selector) for ``plan``: a run left by a console that died, shown
    as it was planned."""
    return {
        "#steps": ", ".join(map(str, plan.steps)),
        "#pause": f"{plan.pause_s:g}",
        "#max-error": f"{plan.max_error_pct:g}",
        "#max-p99": f"{plan.max_p99_ms:g}" if plan.max_p99_ms is not None else "",
        "#min-requests": str(plan.min_requests),
        "#max-wait": format_duration(plan.max_wait_s) if plan.max_wait_s is not None else "",
    }
