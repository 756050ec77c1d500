"""The interactive canary: stable and canary side by side, an editable step plan, start/pause, abort
and promote.

Confirmation (a choice): starting shows the whole plan and the *first step's* diff (model and native
objects) in one dialog; confirming it starts the run, and every later step is applied by the run
through the same plan → apply → verify → history path without asking again, its diff written to the
log below as it lands. Abort (``a``, all traffic to stable) and promote (``p``, all to the canary)
apply at once, also through that path. Leaving the view stops stepping and leaves the weights as
they are. The run lives in a worker thread; its events come back as messages, shown as the step's
live progress (``StepProgressView``) and the split since its change (``SplitPanel``). A run left
by a console that died (``canary_left``) is shown with its plan, then resumed or aborted.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, RichLog, Select, Static

from connectors.canary import (
    FINAL,
    CanaryEvent,
    CanaryPlan,
    CanaryRun,
    side_by_side,
)
from connectors.canary_state import CanaryState, CanaryStateStore
from connectors.errors import ValidationError
from connectors.model import Route

from ..widgets.canary_plan import CanaryPlanForm, keep_draft, kept_draft
from ..widgets.canary_sides import CanarySides, keep_roles, kept_roles, pick_roles
from ..widgets.key_hints import KeyHints
from ..widgets.split_panel import SplitPanel
from ..widgets.step_progress import StepProgressView
from ..widgets.step_progress import log_line as log_line  # re-exported: tests read the log lines
from ..widgets.unchanged import update_static
from ..widgets.weight_bar import WeightBar
from .canary_confirm import CanaryConfirm as CanaryConfirm  # re-exported: the view and its dialog
from .canary_confirm import Preview, preview
from .canary_left import resumed_run, show_left_over
from .canary_run import CanaryControls, Fetched
from .canary_served import ServedWeights
from .charts import NO_SOURCE


class CanaryScreen(CanaryControls):
    VIEW = "canary"
    DEFAULT_CSS = """
    CanaryScreen #canary-info { height: 1; padding: 0 1; background: $surface; }
    CanaryScreen WeightBar { margin: 1 1 0 1; }
    CanaryScreen #split { padding: 0 1; }
    CanaryScreen #plan-error { color: $text-error; height: auto; padding: 0 1; }
    CanaryScreen #log { height: 1fr; border-top: solid $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start_pause", "Start/pause", id="canary.start_pause"),
        Binding("a", "abort", "Abort (all to stable)", id="canary.abort"),
        Binding("p", "promote", "Promote", id="canary.promote"),
        Binding("x", "swap", "Swap stable/canary", show=False, id="canary.swap"),
        Binding("escape", "back", "Back", show=False, id="view.close"),
    ]

    class Previewed(Message, bubble=False):
        """The plan and its first step's diff, ready to confirm."""

        def __init__(self, preview: Preview) -> None:
            super().__init__()
            self.preview = preview

    class Resumed(Message, bubble=False):
        """A left-over run, ready to carry on."""

        def __init__(self, run: CanaryRun) -> None:
            super().__init__()
            self.run = run

    def __init__(
        self,
        connector: Any = None,
        route: str | None = None,
        left_over: CanaryState | None = None,
        then: str = "",
    ) -> None:
        """``left_over``: a run a console that died left (``CanaryStateStore.left_over``), shown with its
        plan; ``then`` "resume" carries it on from its step, "abort" sends all traffic to stable."""
        super().__init__()
        self.left_over = left_over
        self._offered = frozenset({left_over.run} if left_over is not None else ())  # asked already
        self.then = then
        self.connector = connector
        self.route_name = route or ""
        self.stable, self.canary = "", ""
        self.run: CanaryRun | None = None
        self.state = "ready"
        self.events: list[CanaryEvent] = []
        self._form_ready = False
        self.served = ServedWeights()  # to tell the view's own weight changes from someone else's
        self._route: Route | None = None  # the route as last polled
        self._question = ""  # the run holds before 100 % without evidence: why (s asks again)

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("", id="canary-info")
        yield WeightBar(id="weights")
        yield CanarySides(id="sides")
        yield CanaryPlanForm(id="plan-form")
        yield StepProgressView(id="run-status")
        yield SplitPanel(self.route_name, compact=True, id="split")
        yield Static("", id="plan-error")
        yield RichLog(id="log", wrap=True, markup=False)
        yield KeyHints()

    def on_mount(self) -> None:
        self._form_ready = True
        draft = kept_draft(self.app, self._draft_key)
        if draft is not None and self.left_over is None:
            self.query_one(CanaryPlanForm).restore(draft)
            self.call_after_refresh(self._note, "the plan you edited earlier in this session is back", "bold")
        self._info()
        self.call_after_refresh(self._hint)  # once the log has its width, so the line wraps
        self.focus_body()
        super().on_mount()

    @property
    def _draft_key(self) -> tuple[int, str]:
        return id(self.connection), self.route_name

    def _note(self, text: str, style: str = "dim") -> None:
        self.query_one("#log", RichLog).write(Text(text, style=style))

    def _hint(self) -> None:
        self.query_one("#log", RichLog).write(
            Text(
                "s shows the plan and its first step's diff, then starts · a aborts at once · p promotes "
                "after asking. Each step, hold and abort is logged here with its diff.",
                style="dim",
            )
        )

    def focus_body(self) -> None:
        # The keys (s, a, p) act on the canary: focus starts outside the plan's inputs.
        self.query_one("#log", RichLog).focus()

    @on(Input.Submitted)
    def _plan_submitted(self) -> None:
        self.focus_body()

    def action_back(self) -> None:
        """esc in a plan field leaves the field (the plan stays as typed), not the view; leaving the
        view while a run steps stops it, so esc (or q) asks first."""
        focused = self.focused
        if focused is not None and focused in self.query("#plan-form *"):
            self.focus_body()
            return
        cost = self.quit_cost()
        if cost is None:
            super().action_back()
            return
        from .confirm import ConfirmScreen

        def answered(leave: bool | None) -> None:
            if leave:
                super(CanaryScreen, self).action_back()

        question = ConfirmScreen("Stop the canary and leave?", [cost], yes="Leave", no="Stay")
        self.app.push_screen(question, answered)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        route = self.route_name
        return [
            (
                "Canary: start / pause",
                f"Step the canary on {route}, or pause it (s)",
                self.action_start_pause,
            ),
            ("Canary: abort", "All traffic back to stable, at once (a)", self.action_abort),
            ("Canary: promote", "All traffic to the canary, after asking (p)", self.action_promote),
            ("Canary: swap stable and canary", "Before starting (x)", self.action_swap),
        ]

    def selected_route(self) -> str | None:
        return self.route_name or None

    def quit_cost(self) -> str | None:
        run = self.run
        if run is None or run.state in FINAL:
            return None
        return f"the canary on route {self.route_name} stops stepping (weights stay at {run.weight}% canary)"

    def on_unmount(self) -> None:
        super().on_unmount()
        if self.run is not None and self.run.state not in FINAL:
            self.run.cancel()  # stop stepping; the weights stay where they are

    def _outside(self, route: Route, began: float) -> None:
        """No run going: say when the served weights changed from outside, and mark the last run's
        summary as past (the heading, the status line) instead of showing it as current."""
        line = self.served.polled(route, began)
        if line is None:
            return
        self._note(line, "bold")
        if self.served.changed:
            self.state = "ready"
            self.query_one(StepProgressView).show_past(self.served.past())

    # -- live figures (before and during the run) ------------------------------------------------

    def fetch(self) -> Fetched:
        began = time.time()
        connector = self.connection
        if connector is None or not self.route_name:
            return None, None, began, (None, None)
        route = connector.get_route(self.route_name)  # the route as served now, at each refresh
        source = self.metrics
        store = CanaryStateStore(connector.info().title)  # a run elsewhere, going or left
        others = store.live(self.route_name), store.left(self.route_name)
        return route, source.snapshot() if source is not None else None, began, others

    def show(self, result: Fetched) -> None:
        route, snapshot, began, (live, left) = result
        if route is None:
            return
        self._route = route
        if self.left_over is not None and not self.stable:
            self.stable, self.canary = self.left_over.stable, self.left_over.canary
            show_left_over(self, self.left_over)
        if not self.stable or not self.canary:
            pair = pick_roles(route, kept_roles(self.app, self._draft_key))
            if pair is None:
                self.query_one("#plan-error", Static).update(
                    f"Route {route.name} has one backend: nothing to canary."
                )
                return
            self.stable, self.canary = pair
        keep_roles(self.app, self._draft_key, (self.stable, self.canary))
        share = route.weight_share()
        self.query_one("#weights", WeightBar).weights = tuple(
            (b.name, round(share[b.name])) for b in route.backends
        )
        stable, canary = side_by_side(
            self.route_name, self.stable, self.canary, share.get(self.canary, 0.0), snapshot
        )
        run = self.run
        if run is None or run.state in FINAL or run.state == "held":  # a watched step: its own counts
            self.query_one(CanarySides).show(stable, canary)
        if run is None or run.state in FINAL:
            self._outside(route, began)
        if self.metrics is None:
            self.query_one("#plan-error", Static).update(NO_SOURCE)
        elif snapshot is not None and not snapshot.ok:
            self.query_one("#plan-error", Static).update(snapshot.status)
        self._elsewhere(live, left)
        self._info()
        if self.then:
            then, self.then = self.then, ""
            self._carry_on(then)

    # -- a run left by a console that died -------------------------------------------------------

    def _carry_on(self, then: str) -> None:
        state, connector, source = self.left_over, self.connection, self.metrics
        if state is None or connector is None:
            return
        if source is None:
            self.then = then  # a canary needs figures: carried on when they arrive
        elif then == "abort":
            self._finish("abort")
        else:
            self._resume(connector, source, state)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan", name="preview")
    def _resume(self, connector: Any, source: Any, state: CanaryState) -> Resumed:
        """The left-over run, made here (it reads the gateway), carried on from its step."""
        return self.Resumed(resumed_run(connector, source, state, self._post))

    def on_canary_screen_resumed(self, message: Resumed) -> None:
        self._begin(message.run)

    # -- the plan --------------------------------------------------------------------------------

    def read_plan(self) -> CanaryPlan | None:
        """The plan in the form, or None with every problem shown under it."""
        try:
            plan = self.query_one(CanaryPlanForm).read()
        except ValidationError as exc:
            self.query_one("#plan-error", Static).update(Content("\n".join(f"✖ {p}" for p in exc.problems)))
            return None
        update_static(self.query_one("#plan-error", Static), "")
        return plan

    @on(Input.Changed)
    @on(Select.Changed)
    def _plan_changed(self) -> None:
        # Not while the form is being built (its first fields report their values before the rest
        # are there).
        if self.run is None and self._form_ready:
            self.read_plan()
        if self._form_ready and self.left_over is None:  # kept as typed, for the next visit
            form = self.query_one(CanaryPlanForm)
            keep_draft(self.app, self._draft_key, form.draft() if form.edited() else None)

    # -- keys ------------------------------------------------------------------------------------

    def action_swap(self) -> None:
        if self.run is None and self.stable:
            self.stable, self.canary = self.canary, self.stable
            self.poll_now()

    def action_start_pause(self) -> None:
        run = self.run
        if run is not None and run.state not in FINAL:
            if run.state == "running":
                self._control(run, "pause")
            elif run.state == "held" and self._question:  # no step was judged: promote anyway?
                self._ask_unjudged(run, self._question)
            elif run.state in ("paused", "held"):
                self._control(run, "resume")
            return
        if self.refused_elsewhere():
            return
        plan = self.read_plan()
        connector = self.connection
        if plan is None or connector is None or not self.canary:
            return
        if self.metrics is None:
            self.notify(NO_SOURCE, title="Cannot watch a canary", severity="warning")
            return
        self._preview(connector, plan, self.route_name, self.stable, self.canary)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="plan", name="preview", description="preview"
    )
    def _preview(self, connector: Any, plan: CanaryPlan, route: str, stable: str, canary: str) -> Previewed:
        """The run (made here: it reads the gateway) and the diff of the step it begins with."""
        run = CanaryRun(connector, self.metrics, route, stable, canary, plan, on_event=self._post)
        return self.Previewed(preview(connector, run))

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name == "preview" and isinstance(error, ValidationError):
            self.query_one("#plan-error", Static).update(Content("\n".join(f"✖ {p}" for p in error.problems)))
            return True
        if name == "canary" and self.refused_at_start(error):
            return True
        return super().worker_failed(name, error)

    def on_canary_screen_previewed(self, message: Previewed) -> None:
        preview = message.preview

        def confirmed(start: bool | None) -> None:
            if start:
                self._start(preview)

        self.app.push_screen(CanaryConfirm(self.route_name, self.stable, self.canary, preview), confirmed)
