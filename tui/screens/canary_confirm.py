"""The canary's confirmation: the whole plan and the diff of its first step, in one dialog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from connectors.base import Plan
from connectors.canary import NO_EVIDENCE, CanaryPlan, CanaryRun
from connectors.change import Change
from connectors.model import WeightedBackend

from ..highlight import highlight_diff
from .base import ConsoleModal
from .confirm import ConfirmScreen


@dataclass(frozen=True)
class Preview:
    """What the confirmation shows: the plan, the diff of the step the run begins with, what the
    operator must be told first (the run's warnings); and the run, started only when confirmed."""

    plan: CanaryPlan
    first: Plan
    run: CanaryRun | None = None
    first_weight: int | None = None
    warnings: tuple[str, ...] = ()


class CanaryConfirm(ConsoleModal):
    """The whole plan and its first step's diff; Start (s/enter) or Cancel (esc)."""

    VIEW = "start the canary"

    DEFAULT_CSS = """
    CanaryConfirm { align: center middle; }
    CanaryConfirm #dialog { width: 100; max-width: 100%; height: 80%; border: thick $primary;
        background: $surface; padding: 0 1; }
    CanaryConfirm #heading { text-style: bold; color: $text-primary; padding: 0 0 1 0; }
    CanaryConfirm VerticalScroll { height: 1fr; }
    CanaryConfirm #buttons { height: auto; padding: 1 0 0 0; }
    CanaryConfirm #buttons Button { margin: 0 2 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="dialog.close"),
        Binding("s,enter", "start", "Start", id="canary.confirm_start"),
    ]

    def __init__(self, route: str, stable: str, canary: str, preview: Preview) -> None:
        super().__init__()
        self.route, self.stable, self.canary, self.preview = route, stable, canary, preview

    def compose(self) -> ComposeResult:
        plan = self.preview.plan
        p99 = f"p99 above {plan.max_p99_ms:g} ms" if plan.max_p99_ms is not None else "no latency limit"
        summary = (
            f"Canary {self.canary} on route {self.route} (stable {self.stable}).\n"
            f"Steps: {', '.join(f'{s}%' for s in plan.steps)}; watch each for {plan.pause_s:g} s.\n"
            f"Stop if {self.canary}'s errors exceed {plan.max_error_pct:g}% or {p99}: {plan.on_breach}.\n"
            f"{self._judged()}\n"
            "Each step is applied and verified in turn without asking again; " + self._first_step()
        )
        summary = "\n".join([*(f"⚠ {w}" for w in self.preview.warnings), summary])
        with Vertical(id="dialog"):
            yield Static("Start the canary?", id="heading")
            yield Static(Content(summary), id="summary")
            with VerticalScroll():
                yield Static(highlight_diff(self.preview.first.model_diff), id="first-diff")
                if not self.preview.first.is_empty:  # else "(no differences)" once is enough
                    yield Static(highlight_diff(self.preview.first.native_diff), id="first-native")
            with Horizontal(id="buttons"):
                yield Button("Start (s)", id="start", variant="warning")
                yield Button("Cancel (esc)", id="cancel")

    def _judged(self) -> str:
        plan = self.preview.plan
        wait = f"{plan.max_wait_s:g} s" if plan.max_wait_s is not None else "the maximum wait"
        then = (
            "go on unjudged (gates checked on those seen)"
            if plan.on_low_traffic == "continue"
            else "hold and ask"
        )
        if not plan.min_requests:
            return "Each step is judged at the end of its pause."
        seen = f"A step is judged once it saw {plan.min_requests} canary requests"
        return f"{seen}; without them after {wait}: {then}. 100% only after a judged step, or if you say so."

    def _first_step(self) -> str:
        first = self.preview.first_weight
        at = f" ({first}%)" if first is not None else ""
        if self.preview.first.is_empty:
            return f"the first step{at} is what the route has now: nothing changes until the next one."
        return f"the first step's change{at} is:"

    def on_mount(self) -> None:
        self.query_one("#start", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "start")

    def action_start(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)


def preview(connector: Any, run: CanaryRun) -> Preview:
    """Blocking (it reads the gateway): what starting ``run`` shows, with the diff of the step it
    begins with (a canary that already has more than the first steps skips them)."""
    plan, route, stable, canary = run.plan, run.route, run.stable, run.canary
    current = connector.get_route(route)
    now = next((b.weight for b in current.backends if b.name == canary), 0)
    first = next((step for step in plan.steps if step >= now), plan.steps[-1])
    backends = tuple(
        WeightedBackend(b.name, first if b.name == canary else 100 - first if b.name == stable else 0)
        for b in current.backends
    )
    change = Change(connector).plan_edit("weights", current, replace(current, backends=backends))
    return Preview(plan, change, run=run, first_weight=first, warnings=run.warnings)


def _now(share: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {weight}%" for name, weight in share) or "unknown"


def promote_question(
    route: str, canary: str, share: Sequence[tuple[str, int]], unjudged: str = ""
) -> ConfirmScreen:
    """``p``: all traffic to the canary, after asking; ``unjudged`` (``Evidence.missing``): no step
    was judged on enough requests, said as the automatic path says it."""
    details = [
        f"all traffic on route {route} to {canary} (now {_now(share)})",
        "through the same plan → apply → verify path; u or abort undoes it",
    ]
    if not unjudged:
        return ConfirmScreen("Promote the canary?", details, yes="Promote", no="Cancel")
    seen = unjudged.removeprefix(NO_EVIDENCE).strip()
    details[0] += ", without evidence"
    return ConfirmScreen(
        f"No step had enough traffic to judge {seen}. Promote anyway?",
        details,
        yes="Promote anyway",
        no="Cancel",
    )


def unjudged_question(
    route: str, names: tuple[str, str], share: Sequence[tuple[str, int]], why: str
) -> ConfirmScreen:
    """Before the step to 100 % when no step was judged on enough requests: promote anyway?"""
    stable, canary = names
    seen = why.removeprefix(NO_EVIDENCE).strip()  # "(step 1 at 10%: 3 of 20 requests; ...)"
    return ConfirmScreen(
        f"No step had enough traffic to judge {seen}. Promote anyway?",
        [
            f"all traffic on route {route} to {canary} (now {_now(share)}), without evidence",
            f"no keeps the canary held: s asks again, a aborts (all traffic back to {stable})",
        ],
        yes="Promote anyway",
        no="Keep held",
    )
