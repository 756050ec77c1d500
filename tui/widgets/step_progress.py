"""Where the canary's current step stands, live: requests seen against the minimum, time left, and
each gate's value against its threshold; below it, the last thing the run decided (passed, low
traffic, held, resumed, aborted...), so a hold or a low-traffic step is never silent.

Fed the run's events (``connectors.canary.CanaryEvent``): ``watch`` events carry the step's
``StepProgress`` (counts since the step began, never a 1-second rate); the others are notes.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from .unchanged import update_static

if TYPE_CHECKING:
    from connectors.canary import CanaryEvent, CanaryRun, StepProgress

BAR_CELLS = 12
NOTE_STYLE = {
    "passed": "$text-success",
    "promoted": "bold $text-success",
    "low-traffic": "$text-warning",
    "held": "bold $text-warning",
    "breach": "bold $text-error",
    "aborted": "bold $text-error",
    "failed": "bold $text-error",
    "paused": "$text-warning",
    "resumed": "$text-primary",
    "warning": "$text-warning",
    "cancelled": "$text-muted",
}
NEXT_KEYS = {
    "held": " — s resumes, a aborts, p promotes",
    "paused": " — s resumes",
}
ASK_KEYS = " — s or p asks to promote anyway, a aborts"  # held before 100 % with no step judged


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def gauge(done: int, wanted: int) -> str:
    """``▕██████░░░░░░▏``: how much of the step's minimum the canary has served."""
    share = 1.0 if wanted <= 0 else min(1.0, done / wanted)
    full = round(share * BAR_CELLS)
    return "▕" + "█" * full + "░" * (BAR_CELLS - full) + "▏"


def progress_lines(p: StepProgress, paused: bool) -> list[Content]:
    """Two lines: the step's requests and clock, then its gates."""
    left = math.ceil(p.time_left_s)
    if paused:
        clock = f"clock stopped at {p.elapsed_s:.0f} s"
    elif p.enough:
        clock = f"{left} s left of the {p.pause_s:g} s pause"
    else:
        clock = f"{left} s left to reach them (max wait {p.max_wait_s:g} s)"
    seen = (
        f"{p.requests:,} of {p.min_requests:,} canary requests"
        if p.min_requests
        else f"{p.requests:,} canary requests"
    )
    head = Content.assemble(
        (f"step {p.step + 1}/{p.steps} at {p.weight}%  ", "bold"),
        (gauge(p.requests, p.min_requests), "$text-success" if p.enough else "$text-primary"),
        f" {seen} · {clock}",
    )
    err_ok = p.error_pct <= p.max_error_pct
    gates = [
        ("errors ", ""),
        (f"{p.error_pct:.1f}%", "" if err_ok else "bold $text-error"),
        (f" (max {p.max_error_pct:g}%) {'✔' if err_ok else '✖'}", "$text-muted" if err_ok else "$text-error"),
    ]
    if p.max_p99_ms is not None:
        value = "—" if p.p99_ms is None else f"{_ms(p.p99_ms)} ms"
        p99_ok = p.p99_ms is None or p.p99_ms <= p.max_p99_ms
        gates += [
            ("   p99 ", ""),
            (value, "" if p99_ok else "bold $text-error"),
            (
                f" (max {p.max_p99_ms:g} ms) {'✔' if p99_ok else '✖'}",
                "$text-muted" if p99_ok else "$text-error",
            ),
        ]
    return [head, Content.assemble(*gates)]


STATE_STYLE = {
    "aborted": "$text-error",
    "failed": "$text-error",
    "held": "$text-warning",
    "promoted": "$text-success",
}


def info_line(who: tuple[str, str, str], state: str, run: CanaryRun | None, past: str = "") -> Content:
    """``Canary · route shop · v1 → v2 · running · step 2/3``: the canary view's heading; ``past``
    instead of the step once the weights changed after the last run ("last run promoted 14:02, ...")."""
    route, stable, canary = who
    step = (
        f"step {run.step + 1}/{len(run.plan.steps)}" if run is not None and run.step >= 0 else "not started"
    )
    step = past or step
    return Content.assemble(
        f"Canary · route {route} · {stable} → {canary} · ",
        (state, f"bold {STATE_STYLE.get(state, '$text-primary')}"),
        f" · {step}",
    )


def log_line(event: CanaryEvent) -> Content:
    """``   step  ...``: the event's kind, then its message without the kind said twice."""
    message = event.message
    if message.lower().startswith(event.kind):
        message = message[len(event.kind) :].lstrip(" :")
    return Content.assemble((f"{event.kind:>9} ", "bold"), message)


class StepProgressView(Static):
    """The live step progress and the run's last decision."""

    DEFAULT_CSS = """
    StepProgressView { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.progress: StepProgress | None = None
        self.note: Content | None = None
        self.state = "ready"

    @property
    def text(self) -> str:
        return str(self.render())

    def show_event(self, event: CanaryEvent) -> None:
        self.state = event.state
        if event.kind == "watch":
            self.progress = event.progress
        elif event.kind == "step":
            self.progress = None  # a new step: its own counts come with its first watch
        elif event.kind != "started":
            when = time.strftime("%H:%M:%S", time.localtime(event.time))
            # Messages that already begin with their kind ("promoted: v2 takes ...") say it once.
            keys = ASK_KEYS if event.question else NEXT_KEYS.get(event.kind, "")
            style = NOTE_STYLE.get(event.kind, "bold")
            message = event.message.removeprefix(f"{event.kind}: ")
            if message.startswith(f"{event.kind} "):  # "held at 50%: ...": the kind is said once
                head, message = (f"{when} {event.kind}", style), message[len(event.kind) :]
            else:
                head = (f"{when} {event.kind}: ", style)
            self.note = Content.assemble(head, message + keys)
        if event.state in ("aborted", "promoted", "failed", "cancelled"):
            self.progress = None  # the run is over: no step is being watched
        self._draw()

    def show_past(self, text: str) -> None:
        """The last run is over and the weights changed since: say so instead of its last word."""
        self.progress, self.state = None, "ready"
        self.note = Content.styled(text, "$text-warning")
        self._draw()

    def clear(self) -> None:
        self.progress, self.note, self.state = None, None, "ready"
        self._draw()

    def _draw(self) -> None:
        lines: list[Content] = []
        if self.progress is not None:
            lines.extend(progress_lines(self.progress, self.state in ("paused", "held")))
        if self.note is not None:
            lines.append(self.note)
        update_static(self, Content("\n").join(lines))
        self.display = bool(lines)
