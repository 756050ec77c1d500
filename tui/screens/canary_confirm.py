"""The canary's confirmation: the whole plan and the diff of its first step, in one dialog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from connectors.base import Plan
from connectors.canary import CanaryPlan, CanaryRun

from ..highlight import highlight_diff
from .base import ConsoleModal


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
                yield Static(highlight_diff(self.preview.first.native_diff), id="first-native")
            with Horizontal(id="buttons"):
                yield Button("Start (s)", id="start", variant="warning")
                yield Button("Cancel (esc)", id="cancel")

    def _judged(self) -> str:
        plan = self.preview.plan
        wait = f"{plan.max_wait_s:g} s" if plan.max_wait_s is not None else "the maximum wait"
        then = "go on" if plan.on_low_traffic == "continue" else "hold and ask"
        if not plan.min_requests:
            return "Each step is judged at the end of its pause."
        seen = f"A step is judged once it saw {plan.min_requests} canary requests"
        return f"{seen}; without them after {wait}: {then}."

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
