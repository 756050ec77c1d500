"""The canary's plan as the operator types it: steps, pause, gates, what to do on a breach.

Compact fields on two short rows (the canary view fits 100x30). Each field takes only the
characters a plan needs, so ``s``, ``a`` and ``p`` stay the canary view's keys while one is focused.
New plan settings get a field here and a word in ``read``.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select

from connectors.canary import CanaryPlan

from .form_input import FormInput

DEFAULT_PLAN = CanaryPlan()
NUMBER_CHARS = "0123456789."
STEP_CHARS = "0123456789, %"


class CanaryPlanForm(Vertical):
    DEFAULT_CSS = """
    CanaryPlanForm { height: auto; padding: 0 1; margin: 1 0 0 0; }
    CanaryPlanForm .plan-row { height: 1; }
    CanaryPlanForm .plan-row Label { padding: 0 1 0 0; width: auto; }
    CanaryPlanForm .plan-row Input { margin: 0 3 0 0; }
    CanaryPlanForm #steps { width: 22; }
    CanaryPlanForm #pause, CanaryPlanForm #max-error, CanaryPlanForm #max-p99 { width: 8; }
    CanaryPlanForm #on-breach { width: 12; }
    """

    def compose(self) -> ComposeResult:
        plan = DEFAULT_PLAN
        with Horizontal(classes="plan-row"):
            yield Label("Steps %")
            yield FormInput(", ".join(map(str, plan.steps)), allowed=STEP_CHARS, id="steps", compact=True)
            yield Label("Pause s")
            yield FormInput(f"{plan.pause_s:g}", allowed=NUMBER_CHARS, id="pause", compact=True)
        with Horizontal(classes="plan-row"):
            yield Label("Max errors %")
            yield FormInput(
                f"{plan.max_error_pct:g}", allowed=NUMBER_CHARS + "%", id="max-error", compact=True
            )
            yield Label("Max p99 ms")
            p99 = f"{plan.max_p99_ms:g}" if plan.max_p99_ms is not None else ""
            yield FormInput(p99, allowed=NUMBER_CHARS, id="max-p99", placeholder="none", compact=True)
            yield Label("On breach")
            yield Select(
                [("abort", "abort"), ("hold", "hold")],
                value="abort",
                allow_blank=False,
                id="on-breach",
                compact=True,
            )

    def read(self) -> CanaryPlan:
        """The plan typed; raises ValidationError with every problem."""
        value = self.query_one("#on-breach", Select).value
        return CanaryPlan.parse(
            self.query_one("#steps", Input).value,
            self.query_one("#pause", Input).value,
            self.query_one("#max-error", Input).value,
            self.query_one("#max-p99", Input).value,
            str(value) if isinstance(value, str) else "abort",
        )

    def lock_plan(self, locked: bool) -> None:
        """While a run goes, its plan cannot be edited."""
        for widget in self.query("Input, Select"):
            widget.disabled = locked
