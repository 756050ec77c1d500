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

from connectors.canary import FINAL, NO_EVIDENCE, CanaryEvent, CanaryPlan, CanaryRun
from connectors.canary_state import CanaryBusy, CanaryState
from connectors.metrics import Snapshot
from connectors.model import Route

from ..highlight import highlight_diff
from ..widgets.canary_plan import CanaryPlanForm
from ..widgets.canary_sides import CanarySides
from ..widgets.split_panel import SplitPanel
from ..widgets.step_progress import StepProgressView, info_line, log_line
from ..widgets.unchanged import update_static
from ..widgets.weight_bar import WeightBar
from .canary_confirm import Preview, promote_question, unjudged_question
from .canary_left import LeftOverCanary, served_text, show_left_over
from .canary_served import ServedWeights
from .charts import LiveScreen
from .confirm import ConfirmScreen

# The route, figures, when the fetch began, and the route's run going elsewhere / left by a process
# that died (``CanaryStateStore.live`` / ``.left``), read at each refresh.
Fetched = tuple[Route | None, Snapshot | None, float, tuple[CanaryState | None, CanaryState | None]]


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
    _promote_q: ConfirmScreen | None = None  # p's question, while open
    left_over: CanaryState | None
    other: CanaryState | None = None  # the route's run going in another console or command
    _offered: frozenset[str] = frozenset()  # left-over runs whose dialog this view opened

    def _carry_on(self, then: str) -> None:
        raise NotImplementedError

    @property
    def connection(self) -> Any:
        return self.connector or self.console.connector

    def _info(self) -> None:
        who = (self.route_name, self.stable or "?", self.canary or "?")
        state, past = self.state, self.served.short()
        other = self.other or (self.left_over if self.run is None else None)
        if other is not None:
            steps = len(other.plan.get("steps") or [])
            where = f"step {other.step + 1}/{steps} at {other.weight}%" if other.step >= 0 else "starting"
            state = "running elsewhere" if self.other is not None else "left unfinished"
            past = f"{where} (pid {other.pid})"
        update_static(self.query_one("#canary-info", Static), info_line(who, state, self.run, past))

    # -- the route's run elsewhere: going in another console, or left by one that died -------------

    def _elsewhere(self, live: CanaryState | None, left: CanaryState | None) -> None:
        """Read at each refresh: a run going elsewhere is shown (whose pid, step, since when) and
        ``s`` refuses; one whose process died is offered to resume or abort, as a fresh console does."""
        run = self.run
        if run is not None and run.state not in FINAL:
            return  # this view's own run
        mine = run.run_id if run is not None else ""
        live = live if live is not None and live.run != mine else None
        if (live is None) != (self.other is None) or (live and self.other and live.step != self.other.step):
            over = "stopped before it ended" if left is not None else "ended"
            line = live.going() if live is not None else f"the canary run elsewhere {over}"
            self.query_one(StepProgressView).show_past(line)
            self.query_one("#log", RichLog).write(line)
        self.other = live
        if left is not None and left.run != mine and left.run not in self._offered:
            self._offered |= {left.run}
            self.left_over, self.stable, self.canary = left, left.stable, left.canary
            show_left_over(self, left)
            self.offer_left_over()
        elif left is None and self.left_over is not None and self.run is None:
            self.left_over = None  # resumed or aborted elsewhere

    def offer_left_over(self) -> None:
        """Resume / abort / later for the left-over run, like a fresh console's dialog."""
        state = self.left_over
        if state is None:
            return

        def answered(what: str | None) -> None:
            if what in ("resume", "abort"):
                self._carry_on(what)

        self.app.push_screen(LeftOverCanary(state, served_text(self._route)), answered)

    def refused_elsewhere(self) -> bool:
        """``s`` or ``p`` while the route's run goes elsewhere: one line, nothing started."""
        if self.other is not None:
            line = f"✖ not started here: {self.other.going()}"
            self.query_one("#plan-error", Static).update(line)
            return True
        if self.left_over is not None and (self.run is None or self.run.state in FINAL):
            self.offer_left_over()
            return True
        return False

    def refused_at_start(self, error: BaseException) -> bool:
        """The run could not take the route (another started first, or one was left): undone here."""
        if not isinstance(error, CanaryBusy):
            return False
        self.run, self.state = None, "ready"
        self.query_one(CanaryPlanForm).lock_plan(False)
        self.query_one("#plan-error", Static).update(f"✖ not started: {error}")
        self.poll_now()
        return True

    def action_abort(self) -> None:
        self._finish("abort")

    def action_promote(self) -> None:
        """Promote sends all traffic to the canary: it asks first (abort, back to safety, does not)."""
        if not self.canary or (self.other is not None and self.refused_elsewhere()):
            return

        asked_run = self.run

        def answered(yes: bool | None) -> None:
            self._promote_q = None
            if yes and asked_run is not None and asked_run.state in FINAL:
                # The run ended under the question: promoting again would record a second promote.
                self.notify(f"the run has already {asked_run.state}; nothing more applied")
            elif yes:
                self._finish("promote")

        share = self.query_one("#weights", WeightBar).weights
        question = promote_question(self.route_name, self.canary, share, self._unjudged_now())
        self._promote_q = question
        self.app.push_screen(question, answered)

    def _close_promote_question(self, state: str) -> None:
        """The run ended while ``p``'s question was open: its weights and offer are stale; close it."""
        question, self._promote_q = self._promote_q, None
        if question is not None and self.app.screen is question:
            question.dismiss(None)
            self.notify(f"the run has already {state}: the promote question is closed")

    def _unjudged_now(self) -> str:
        """Why no step was judged on enough requests (this view's run), or "" when one was."""
        run = self.run
        if run is None:
            return f"{NO_EVIDENCE} (no canary run watched {self.canary} here)"
        missing = run.evidence.missing(run.plan.min_requests) or ""
        watched = next((e.progress for e in reversed(self.events) if e.progress is not None), None)
        if missing and watched is not None and run.state not in FINAL:  # the step being watched, so far
            p = watched
            now = f"step {p.step + 1} at {p.weight}%: {p.requests} of {p.min_requests} requests so far"
            missing = missing.replace("no step was watched", now)
        return missing

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
            self._close_promote_question(event.state)
            names = (self.stable, self.canary)
            self.served.run_ended(event.state, event.time, self._route, names, event.weight)
            self.query_one(CanaryPlanForm).lock_plan(False)
            self.notify(
                event.message,
                title=f"Canary {event.state}",
                severity="information" if event.state == "promoted" else "warning",
            )
        self._info()
