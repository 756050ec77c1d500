"""The canary's plan as the operator types it: steps, pause, gates, what to do on a breach.

Compact fields on two short rows (the canary view fits 100x30). Each field takes only the
characters a plan needs, so ``s``, ``a`` and ``p`` stay the canary view's keys while one is focused.
New plan settings get a field here and a word in ``read``.

A plan typed but not started is kept per route for the console's session (``keep_draft`` /
``kept_draft``): leaving the canary view and opening it again brings the edited plan back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from weakref import WeakKeyDictionary

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select

from connectors.canary import CanaryPlan, LowTraffic
from connectors.errors import Problem, ValidationError

from .form_input import FormInput

DEFAULT_PLAN = CanaryPlan()
NUMBER_CHARS = "0123456789."
STEP_CHARS = "0123456789, %"
Draft = dict[str, str]  # a field's selector -> its value as typed
# Per app (a console session), per (gateway connector, route): the plan typed there, not started.
_DRAFTS: WeakKeyDictionary[object, dict[tuple[int, str], Draft]] = WeakKeyDictionary()


def keep_draft(app: object, key: tuple[int, str], draft: Draft | None) -> None:
    """Keep ``draft`` for the session (None forgets it: the plan was not edited)."""
    drafts = _DRAFTS.setdefault(app, {})
    if draft is None:
        drafts.pop(key, None)
    else:
        drafts[key] = draft


def kept_draft(app: object, key: tuple[int, str]) -> Draft | None:
    return _DRAFTS.get(app, {}).get(key)


def default_draft(plan: CanaryPlan = DEFAULT_PLAN) -> Draft:
    """The form's fields for ``plan``, as ``draft()`` reads them."""
    return {
        "#steps": ", ".join(map(str, plan.steps)),
        "#pause": f"{plan.pause_s:g}",
        "#min-requests": str(plan.min_requests),
        "#max-wait": f"{plan.max_wait_s:g}" if plan.max_wait_s is not None else "",
        "#max-error": f"{plan.max_error_pct:g}",
        "#max-p99": f"{plan.max_p99_ms:g}" if plan.max_p99_ms is not None else "",
        "#on-breach": plan.on_breach,
        "#on-low-traffic": plan.on_low_traffic,
    }


class CanaryPlanForm(Vertical):
    DEFAULT_CSS = """
    CanaryPlanForm { height: auto; padding: 0 1; margin: 1 0 0 0; }
    CanaryPlanForm .plan-row { height: 1; }
    CanaryPlanForm .plan-row Label { padding: 0 1 0 0; width: auto; }
    CanaryPlanForm .plan-row Input { margin: 0 2 0 0; }
    CanaryPlanForm #steps { width: 20; }
    CanaryPlanForm .plan-row .number { width: 8; }
    CanaryPlanForm #on-breach { width: 12; margin: 0 2 0 0; }
    CanaryPlanForm #on-low-traffic { width: 14; }
    """

    def compose(self) -> ComposeResult:
        shown = default_draft()
        number: dict[str, Any] = {"allowed": NUMBER_CHARS, "compact": True, "classes": "number"}
        with Horizontal(classes="plan-row"):
            yield Label("Steps %")
            yield FormInput(shown["#steps"], allowed=STEP_CHARS, id="steps", compact=True)
            yield Label("Pause s")
            yield FormInput(shown["#pause"], id="pause", **number)
            # A step is judged once it saw this many canary requests, or after the maximum wait.
            yield Label("Min requests")
            yield FormInput(shown["#min-requests"], id="min-requests", **number)
            yield Label("Max wait s")
            yield FormInput(shown["#max-wait"], id="max-wait", placeholder="auto", **number)
        with Horizontal(classes="plan-row"):
            yield Label("Max errors %")
            percent = {**number, "allowed": NUMBER_CHARS + "%"}
            yield FormInput(shown["#max-error"], id="max-error", **percent)
            yield Label("Max p99 ms")
            yield FormInput(shown["#max-p99"], id="max-p99", placeholder="none", **number)
            yield Label("On breach")
            breach = [("abort", "abort"), ("hold", "hold")]
            yield Select(breach, value=shown["#on-breach"], allow_blank=False, id="on-breach", compact=True)
            yield Label("Low traffic")
            low = [("continue", "continue"), ("ask", "ask")]
            choice = shown["#on-low-traffic"]
            yield Select(low, value=choice, allow_blank=False, id="on-low-traffic", compact=True)

    def draft(self) -> Draft:
        """Every field as typed (text fields and choices), by selector."""
        out = {f"#{w.id}": w.value for w in self.query(Input)}
        out.update({f"#{w.id}": str(w.value) for w in self.query(Select)})
        return out

    def edited(self) -> bool:
        """Whether the plan differs from the default one the form opens with."""
        return self.draft() != default_draft()

    def restore(self, draft: Draft) -> None:
        for selector, value in draft.items():
            for widget in self.query(selector):
                if isinstance(widget, (Input, Select)):
                    widget.value = value

    def read(self) -> CanaryPlan:
        """The plan typed; raises ValidationError with every problem."""
        problems: list[Problem] = []
        try:
            plan = CanaryPlan.parse(
                self._text("steps"),
                self._text("pause"),
                self._text("max-error"),
                self._text("max-p99"),
                self._choice("on-breach", "abort"),
            )
        except ValidationError as exc:
            problems += exc.problems
            plan = DEFAULT_PLAN
        min_requests, max_wait = self._text("min-requests"), self._text("max-wait")
        if not min_requests.isdigit():
            problems.append(Problem("min_requests", f"{min_requests!r} is not a whole number of requests"))
        try:
            wait = float(max_wait) if max_wait else None
        except ValueError:
            problems.append(Problem("max_wait_s", f"{max_wait!r} is not a number of seconds"))
            wait = None
        low: LowTraffic = "ask" if self._choice("on-low-traffic", "continue") == "ask" else "continue"
        if not problems:
            plan = replace(plan, min_requests=int(min_requests), max_wait_s=wait, on_low_traffic=low)
            problems += plan.problems()
        if problems:
            raise ValidationError(problems)
        return plan

    def _text(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    def _choice(self, field: str, default: str) -> str:
        value = self.query_one(f"#{field}", Select).value
        return str(value) if isinstance(value, str) else default

    def lock_plan(self, locked: bool) -> None:
        """While a run goes, its plan cannot be edited."""
        for widget in self.query("Input, Select"):
            widget.disabled = locked
