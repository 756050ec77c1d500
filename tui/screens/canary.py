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

from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, RichLog, Static

from connectors.canary import (
    FINAL,
    CanaryEvent,
    CanaryPlan,
    CanaryRun,
    pick_backends,
    side_by_side,
)
from connectors.canary_state import CanaryState
from connectors.change import Change
from connectors.errors import ValidationError
from connectors.metrics import Snapshot
from connectors.model import Route, WeightedBackend

from ..highlight import highlight_diff
from ..widgets.canary_plan import CanaryPlanForm
from ..widgets.canary_sides import CanarySides
from ..widgets.key_hints import KeyHints
from ..widgets.split_panel import SplitPanel
from ..widgets.step_progress import StepProgressView, info_line
from ..widgets.step_progress import log_line as log_line  # re-exported: tests read the log lines
from ..widgets.weight_bar import WeightBar
from .canary_confirm import CanaryConfirm as CanaryConfirm  # re-exported: the view and its dialog
from .canary_confirm import Preview
from .canary_left import resumed_run, show_left_over
from .charts import NO_SOURCE, LiveScreen


class CanaryScreen(LiveScreen[tuple[Route | None, Snapshot | None]]):
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

    class Progress(Message):
        """A canary event, posted from the run's thread."""

        def __init__(self, event: CanaryEvent) -> None:
            super().__init__()
            self.event = event

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

    class FinishedNow(Message, bubble=False):
        """A one-off abort or promote (no run going) has been applied; ``state`` is where it ended."""

        def __init__(self, state: str) -> None:
            super().__init__()
            self.state = state

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
        self.then = then
        self.connector = connector
        self.route_name = route or ""
        self.stable, self.canary = "", ""
        self.run: CanaryRun | None = None
        self.state = "ready"
        self.events: list[CanaryEvent] = []
        self._form_ready = False

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
        self._info()
        self.call_after_refresh(self._hint)  # once the log has its width, so the line wraps
        self.focus_body()
        super().on_mount()

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
        """esc in a plan field leaves the field (the plan stays as typed), not the view."""
        focused = self.focused
        if focused is not None and focused in self.query("#plan-form *"):
            self.focus_body()
            return
        super().action_back()

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

    @property
    def connection(self) -> Any:
        return self.connector or self.console.connector

    def _info(self) -> None:
        who = (self.route_name, self.stable or "?", self.canary or "?")
        self.query_one("#canary-info", Static).update(info_line(who, self.state, self.run))

    # -- live figures (before and during the run) ------------------------------------------------

    def fetch(self) -> tuple[Route | None, Snapshot | None]:
        connector = self.connection
        if connector is None or not self.route_name:
            return None, None
        route = connector.get_route(self.route_name)
        source = self.metrics
        return route, source.snapshot() if source is not None else None

    def show(self, result: tuple[Route | None, Snapshot | None]) -> None:
        route, snapshot = result
        if route is None:
            return
        if self.left_over is not None and not self.stable:
            self.stable, self.canary = self.left_over.stable, self.left_over.canary
            show_left_over(self, self.left_over)
        if not self.stable or not self.canary:
            pair = pick_backends(route)
            if pair is None:
                self.query_one("#plan-error", Static).update(
                    f"Route {route.name} has one backend: nothing to canary."
                )
                return
            self.stable, self.canary = pair
        share = route.weight_share()
        self.query_one("#weights", WeightBar).weights = tuple(
            (b.name, round(share[b.name])) for b in route.backends
        )
        stable, canary = side_by_side(
            self.route_name, self.stable, self.canary, share.get(self.canary, 0.0), snapshot
        )
        if self.run is None or self.run.state in FINAL:  # while one runs, its counts show the split
            self.query_one(CanarySides).show(stable, canary)
        if self.metrics is None:
            self.query_one("#plan-error", Static).update(NO_SOURCE)
        elif snapshot is not None and not snapshot.ok:
            self.query_one("#plan-error", Static).update(snapshot.status)
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
        self.query_one("#plan-error", Static).update("")
        return plan

    @on(Input.Changed)
    def _plan_changed(self) -> None:
        # Not while the form is being built (its first fields report their values before the rest
        # are there).
        if self.run is None and self._form_ready:
            self.read_plan()

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
            elif run.state in ("paused", "held"):
                self._control(run, "resume")
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
        current = connector.get_route(route)
        now = next((b.weight for b in current.backends if b.name == canary), 0)
        # Where the run begins: a canary that already has more than the first steps skips them.
        first = next((step for step in plan.steps if step >= now), plan.steps[-1])
        backends = tuple(
            WeightedBackend(b.name, first if b.name == canary else 100 - first if b.name == stable else 0)
            for b in current.backends
        )
        change = Change(connector).plan_edit("weights", current, replace(current, backends=backends))
        return self.Previewed(Preview(plan, change, run=run, first_weight=first, warnings=run.warnings))

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name == "preview" and isinstance(error, ValidationError):
            self.query_one("#plan-error", Static).update(Content("\n".join(f"✖ {p}" for p in error.problems)))
            return True
        return super().worker_failed(name, error)

    def on_canary_screen_previewed(self, message: Previewed) -> None:
        preview = message.preview

        def confirmed(start: bool | None) -> None:
            if start:
                self._start(preview)

        self.app.push_screen(CanaryConfirm(self.route_name, self.stable, self.canary, preview), confirmed)

    def action_abort(self) -> None:
        self._finish("abort")

    def action_promote(self) -> None:
        """Promote sends all traffic to the canary: it asks first (abort, back to safety, does not)."""
        if not self.canary:
            return
        from .confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._finish("promote")

        share = self.query_one("#weights", WeightBar).weights
        now = ", ".join(f"{name} {weight}%" for name, weight in share) or "unknown"
        details = [
            f"all traffic on route {self.route_name} to {self.canary} (now {now})",
            "through the same plan → apply → verify path; u or abort undoes it",
        ]
        question = ConfirmScreen("Promote the canary?", details, yes="Promote", no="Cancel")
        self.app.push_screen(question, answered)

    def _finish(self, what: str) -> None:
        run = self.run
        if run is not None and run.state not in FINAL:
            self._control(run, what)
            return
        connector = self.connection
        if connector is None or not self.canary:
            return
        # Not running: a one-off run that only aborts or promotes, through the same change path.
        self._finish_now(connector, self.metrics, (self.route_name, self.stable, self.canary), what)

    @work(thread=True, exit_on_error=False, group="control", name="control")
    def _control(self, run: CanaryRun, what: str) -> None:
        """Pause, resume, abort or promote the run going."""
        getattr(run, what)()

    @work(thread=True, exclusive=True, exit_on_error=False, group="control", name="finish-now")
    def _finish_now(self, connector: Any, source: Any, names: tuple[str, str, str], what: str) -> FinishedNow:
        route, stable, canary = names  # the run reads the route: in this thread, not the UI's
        one = CanaryRun(
            connector, source, route, stable, canary, CanaryPlan(steps=(100,)), on_event=self._post
        )
        getattr(one, what)()
        return self.FinishedNow(one.state)

    def on_canary_screen_finished_now(self, message: FinishedNow) -> None:
        self.poll_now()

    # -- the run ---------------------------------------------------------------------------------

    def _post(self, event: CanaryEvent) -> None:
        self.post_message(self.Progress(event))  # thread-safe

    def _start(self, preview: Preview) -> None:
        run = preview.run
        if run is None:
            return
        self._begin(run)

    def _begin(self, run: CanaryRun) -> None:
        self.run = run
        self.state = "running"
        self.query_one(CanaryPlanForm).lock_plan(True)
        self.query_one(StepProgressView).clear()
        self._run(run)

    @work(thread=True, exit_on_error=False, group="canary", name="canary")
    def _run(self, run: CanaryRun) -> None:
        """Step the canary to the end; its events come back as Progress messages."""
        run.run()

    def on_canary_screen_progress(self, message: Progress) -> None:
        event = message.event
        self.events.append(event)
        self.state = event.state
        log = self.query_one("#log", RichLog)
        if event.kind != "watch":
            log.write(log_line(event))
            if event.diff:
                log.write(highlight_diff(event.diff))
        if event.stable is not None and event.canary is not None and event.kind == "watch":
            self.query_one(CanarySides).show(event.stable, event.canary)
        self.query_one(StepProgressView).show_event(event)
        if event.kind == "step" and event.diff:
            self.query_one("#split", SplitPanel).reset(f"step {event.step + 1} applied")
        if event.kind in ("step", "aborted", "promoted"):
            self.poll_now()
        if event.state in FINAL:
            self.query_one(CanaryPlanForm).lock_plan(False)
            self.notify(
                event.message,
                title=f"Canary {event.state}",
                severity="information" if event.state == "promoted" else "warning",
            )
        self._info()
