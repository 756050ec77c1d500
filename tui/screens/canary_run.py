"""The half of the canary view that drives a run: start it in a worker, show its events as they
come (the log, the step's live progress, the sides), pause/resume, abort at once, promote after
asking, and ask before the step to 100 % when no step had enough traffic to judge. The layout, the
plan and the live figures are ``canary.CanaryScreen``'s, a subclass.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.message import Message
from textual.widgets import RichLog, Static

from connectors.canary import FINAL, CanaryEvent, CanaryPlan, CanaryRun
from connectors.metrics import Snapshot
from connectors.model import Route

from ..highlight import highlight_diff
from ..widgets.canary_plan import CanaryPlanForm
from ..widgets.canary_sides import CanarySides
from ..widgets.split_panel import SplitPanel
from ..widgets.step_progress import StepProgressView, info_line, log_line
from ..widgets.weight_bar import WeightBar
from .canary_confirm import Preview, promote_question, unjudged_question
from .canary_served import ServedWeights
from .charts import LiveScreen

Fetched = tuple[Route | None, Snapshot | None, float]  # the route, figures, when the fetch began


class CanaryControls(LiveScreen[Fetched]):
    class Progress(Message):
        """A canary event, posted from the run's thread."""

        def __init__(self, event: CanaryEvent) -> None:
            super().__init__()
            self.event = event

    class FinishedNow(Message, bubble=False):
        """A one-off abort or promote (no run going) has been applied; ``state`` is where it ended."""

        def __init__(self, state: str) -> None:
            super().__init__()
            self.state = state

    connector: Any
    route_name: str
    stable: str
    canary: str
    run: CanaryRun | None
    state: str
    events: list[CanaryEvent]
    served: ServedWeights
    _route: Route | None
    _question: str
    _asking = False  # the promote-without-evidence question is open

    @property
    def connection(self) -> Any:
        return self.connector or self.console.connector

    def _info(self) -> None:
        who = (self.route_name, self.stable or "?", self.canary or "?")
        past = self.served.short()
        self.query_one("#canary-info", Static).update(info_line(who, self.state, self.run, past))

    def action_abort(self) -> None:
        self._finish("abort")

    def action_promote(self) -> None:
        """Promote sends all traffic to the canary: it asks first (abort, back to safety, does not)."""
        if not self.canary:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._finish("promote")

        share = self.query_one("#weights", WeightBar).weights
        question = promote_question(self.route_name, self.canary, share, self._question)
        self.app.push_screen(question, answered)

    def _ask_unjudged(self, run: CanaryRun, why: str) -> None:
        """The run holds before 100 %: no step had enough traffic to judge. Yes goes on to 100 %;
        no keeps it held (s asks again, a aborts). Asked once at a time: a second hold event (the
        weights changed meanwhile) while the question is open adds no second dialog."""
        if self._asking:
            return
        self._asking = True

        def answered(yes: bool | None) -> None:
            self._asking = False
            if yes and run.state == "held":
                self._control(run, "resume")

        share = self.query_one("#weights", WeightBar).weights
        self.app.push_screen(
            unjudged_question(self.route_name, (self.stable, self.canary), share, why), answered
        )

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

    def on_canary_controls_finished_now(self, message: FinishedNow) -> None:
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
        self.served.run_started()
        self.query_one(CanaryPlanForm).lock_plan(True)
        self.query_one(StepProgressView).clear()
        self._run(run)

    @work(thread=True, exit_on_error=False, group="canary", name="canary")
    def _run(self, run: CanaryRun) -> None:
        """Step the canary to the end; its events come back as Progress messages."""
        run.run()

    def on_canary_controls_progress(self, message: Progress) -> None:
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
        asked, self._question = self._question, event.question if event.kind == "held" else ""
        if self._question and self._question != asked and self.run is not None:  # asked once per hold
            self._ask_unjudged(self.run, self._question)
        if event.state in FINAL:
            names = (self.stable, self.canary)
            self.served.run_ended(event.state, event.time, self._route, names, event.weight)
            self.query_one(CanaryPlanForm).lock_plan(False)
            self.notify(
                event.message,
                title=f"Canary {event.state}",
                severity="information" if event.state == "promoted" else "warning",
            )
        self._info()
