"""What a canary run may claim, and what it must not overwrite.

A run never claims what it did not check. A step that ran out its maximum wait with too few
canary requests goes on *unjudged* (said as a ``low-traffic`` canary event: "continued unjudged:
3 of 20 requests ..."), its gates still judged on the requests it saw; and the step to 100 % is not
taken while no step was judged on enough requests (``Evidence.missing``): the console asks, the
``canary`` command stops (exit 1) unless the operator passed ``--promote-unjudged``.

Someone else may change the route's weights while a run goes (``set-weights``, another console):
``outside_change`` sees it by reading the route the gateway serves at each check, and the run
holds instead of overwriting it, saying who changed what.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .base import Connector
from .canary_judge import StepProgress, max_wait
from .errors import GatewayError
from .metrics import MetricsSource
from .metrics.counts import RouteCounts
from .model import Route

if TYPE_CHECKING:
    from .canary_plan import CanaryPlan

Unjudged = Literal["ask", "refuse", "allow"]
NO_EVIDENCE = "not enough traffic to judge any step"


@dataclass
class Evidence:
    """The steps judged on enough requests, and those that went on without (one line each)."""

    judged: list[str] = field(default_factory=list)  # "step 2 at 50%: 24 requests"
    unjudged: list[str] = field(default_factory=list)  # "step 1 at 10%: 3 of 20 requests"

    def missing(self, min_requests: int) -> str | None:
        """None when a step was judged on enough requests (or the plan asks for none); else why the
        step to 100 % waits: ``not enough traffic to judge any step (step 1 at 10%: 3 of 20 ...)``."""
        if self.judged or min_requests <= 0:
            return None
        seen = "; ".join(self.unjudged) or "no step was watched"
        return f"{NO_EVIDENCE} ({seen})"


def split_text(route: Route) -> str:
    """``70/30 (v1/v2)``: the route's weights in percent, in its backends' order."""
    share = route.weight_share()
    names = [b.name for b in route.backends]
    return "/".join(f"{share.get(n, 0.0):g}" for n in names) + f" ({'/'.join(names)})"


def _split(route: Route) -> dict[str, int]:
    return {name: round(pct) for name, pct in route.weight_share().items()}


def same_split(a: Route, b: Route) -> bool:
    return _split(a) == _split(b)


def outside_change(
    connector: Connector, base: Route, run: str, since: float = 0.0, set_here: bool = False
) -> tuple[Route, str] | None:
    """The route as served now and a sentence saying who changed its weights, when they differ
    from ``base`` (the route as the run last set or saw it, at ``since``); None when they do not,
    or when the route cannot be read this time (the next check reads it again). ``set_here``: the
    run itself set ``base`` (else it only read it: it never claims to have set it)."""
    try:
        current = connector.get_route(base.name)
    except GatewayError:
        return None
    if same_split(current, base):
        return None
    who = _who(connector, base.name, run, since)
    return current, (
        f"the weights of {base.name} were changed outside this canary{who}: now {split_text(current)}, "
        f"{'it had set' if set_here else 'it had last read'} {split_text(base)}; "
        "the canary does not overwrite them"
    )


def _who(connector: Connector, route: str, run: str, since: float) -> str:
    """`` (change 67c1bc8c by root at 14:09:04)``: the newest change of the route since ``since`` not
    made by the run (none for a hand edit of the config, which the history does not hold)."""
    try:
        entries = connector.history()
    except (GatewayError, OSError):
        return ""
    for entry in reversed(entries):
        if entry.time < since:
            break
        if route in entry.routes and entry.action != "event" and entry.run != run:
            when = time.strftime("%H:%M:%S", time.localtime(entry.time))
            what = f"another canary run ({entry.run}) of {entry.user}" if entry.run else entry.user
            return f" (change {entry.id[:8]} by {what} at {when})"
    return ""


def step_progress(
    metrics: MetricsSource | None,
    names: tuple[str, str],
    plan: CanaryPlan,
    at: tuple[int, int],
    since: float,
    clock: float,
) -> tuple[StepProgress, RouteCounts | None]:
    """Step ``at`` (index, weight)'s progress on the canary's own counts since it began, and the
    route's counts. Strict: from the first reading after the step began, never the previous step's."""
    route, canary = names
    counts = metrics.counts(since, strict=True) if metrics is not None else None
    mine = counts.routes.get(route) if counts is not None and counts.ok else None
    c = mine.backends.get(canary) if mine is not None else None
    index, weight = at
    progress = StepProgress(
        index,
        len(plan.steps),
        weight,
        clock,
        c.requests if c is not None else 0,
        c.errors if c is not None else 0,
        c.p99_ms if c is not None else None,
        plan.min_requests,
        plan.pause_s,
        max_wait(plan),
        plan.max_error_pct,
        plan.max_p99_ms,
        canary,
    )
    return progress, mine
