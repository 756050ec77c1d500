"""The canary's confirmation: the whole plan and the diff of its first step, in one dialog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from connectors.base import Plan
from connectors.canary import CanaryPlan

from ..highlight import highlight_diff
from .base import ConsoleModal


@dataclass(frozen=True)
class Preview:
    """What the confirmation shows: the plan and the diff of its first step."""

    plan: CanaryPlan
    first: Plan


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
            "Each step is applied and verified in turn without asking again; the first step's change is:"
        )
        with Vertical(id="dialog"):
            yield Static("Start the canary?", id="heading")
            yield Static(summary, id="summary")
            with VerticalScroll():
                yield Static(highlight_diff(self.preview.first.model_diff), id="first-diff")
                yield Static(highlight_diff(self.preview.first.native_diff), id="first-native")
            with Horizontal(id="buttons"):
                yield Button("Start (s)", id="start", variant="warning")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#start", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "start")

    def action_start(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)
