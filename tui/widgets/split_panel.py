"""Did traffic move? A route's split since its last weight change, with the verdict, kept current.

``connectors.split.split_since_change`` counts, per backend, the requests since the newest change of
the route's weights and judges them against the declared weights ("v2 49.1 % of 1,204 requests —
consistent with 50 %", "too few requests yet (37 of the 50 a verdict needs)"). The panel runs it in
a worker every couple of seconds (the next count is scheduled when the previous one has finished,
so counts never pile up behind a slow metrics source) and shows when it counted. Nothing stale is
shown as current: ``reset()`` (the route's weights changed) blanks the verdict until the next count,
and a count that fails replaces the verdict with why.

Used by the detail view, the canary view and the diff's result after an apply that moved weights.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import work
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from connectors.split import what_changed

from ..host import console_of
from ..outcomes import WorkerOutcomes, error_text
from .unchanged import update_static

if TYPE_CHECKING:
    from connectors.split import SplitReport

REFRESH_S = 2.0
LABEL = Content.styled(f"{'Split':<10}", "bold $text-secondary")  # as the detail view's fields
INDENT = " " * 10
VERDICT_STYLE = {
    "consistent": ("✔", "bold $text-success"),
    "inconsistent": ("✖", "bold $text-error"),
    "too-few": ("…", "bold $text-warning"),
}


def verdict_line(report: SplitReport) -> Content:
    """``✔ consistent: v2 49.1 % of 1,204 requests — consistent with 50 %``."""
    j = report.judgement
    mark, style = VERDICT_STYLE[j.verdict]
    return Content.assemble((f"{mark} {j.verdict}", style), ": ", j.message)


def since_line(report: SplitReport, counted: float, source: bool = True) -> Content:
    change = report.change
    if change is None:
        since = "since the gateway started (no weight change recorded)"
    else:
        at = time.strftime("%H:%M:%S", time.localtime(change.time))
        # What the entry itself did, as :history says it (a revert's own arrows, not the undone's).
        since = f"since change {change.id[:8]} at {at} ({what_changed(change)})"
    when = time.strftime("%H:%M:%S", time.localtime(counted))
    tail = f" · {report.source}" if source else ""
    return Content.styled(f"{since} · counted {when}{tail}", "$text-muted")


def backend_lines(report: SplitReport) -> list[Content]:
    rows = [
        Content.styled(
            f"{'backend':<12} {'declared':>8} {'requests':>9} {'observed':>9}  95% interval", "bold"
        )
    ]
    for b in report.judgement.backends:
        observed = f"{b.observed_pct:.1f}%" if b.observed_pct is not None else "—"
        interval = f"{b.interval[0]:.1f}-{b.interval[1]:.1f}%" if b.interval is not None else "—"
        rows.append(
            Content(f"{b.backend:<12} {b.declared_pct:>7g}% {b.requests:>9,} {observed:>9}  {interval}")
        )
    return rows


class SplitPanel(WorkerOutcomes, Static):
    """The split of ``route`` since its last weight change. ``compact``: the verdict and what it
    counts from, without the per-backend table (the diff's result)."""

    DEFAULT_CSS = """
    SplitPanel { height: auto; }
    """

    class Counted(Message, bubble=False):
        """A count finished: the report, and when it was asked for."""

        def __init__(self, report: SplitReport, at: float, generation: int) -> None:
            super().__init__()
            self.report = report
            self.at = at
            self.generation = generation

    def __init__(
        self,
        route: str,
        *,
        compact: bool = False,
        every: float = REFRESH_S,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(_labelled("counting…"), name=name, id=id, classes=classes)
        self.route = route
        self.compact = compact
        self.every = every
        self.report: SplitReport | None = None
        self.counted_at: float | None = None
        self._generation = 0  # counts asked for before the last reset are not shown
        self._timer: Timer | None = None

    @property
    def verdict(self) -> str | None:
        """The verdict shown now (None while counting or when the count failed)."""
        return self.report.judgement.verdict if self.report is not None else None

    def on_mount(self) -> None:
        self.count_now()

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def reset(self, why: str = "the weights changed") -> None:
        """Blank the verdict (it counted from an older change) and count again now."""
        self._generation += 1
        self.report = None
        self.update(_labelled(f"{why}; counting from the new change…"))
        self.count_now()

    def count_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self.display:  # hidden (a route with one backend): nothing to count
            self._schedule()
            return
        console = console_of(self.app)
        connector, source = console.connector, console.metrics_source
        if connector is None or source is None:
            self.report = None
            self.update(_labelled("no metrics source to count requests with"))
            self._schedule()
            return
        self._count(connector, source, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="split", name="split")
    def _count(self, connector: Any, source: Any, generation: int) -> Counted:
        from connectors.split import split_since_change

        at = time.time()
        return self.Counted(split_since_change(connector, source, self.route), at, generation)

    def on_split_panel_counted(self, message: Counted) -> None:
        if message.generation == self._generation:
            self.report, self.counted_at = message.report, message.at
            update_static(self, self.render_report(message.report, message.at))
        self._schedule()

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name != "split":
            return False
        self.report = None
        title, text = error_text(error)
        self.update(_labelled(f"✖ cannot count now: {title}: {text}", "$text-error"))
        self._schedule()
        return True

    def _schedule(self) -> None:
        if self.is_attached:
            self._timer = self.set_timer(self.every, self.count_now)

    def render_report(self, report: SplitReport, counted: float) -> Content:
        lines = [since_line(report, counted, source=not self.compact)]
        if not self.compact:
            lines.extend(backend_lines(report))
        lines.extend(Content.styled(f"⚠ {w}", "$text-warning") for w in report.warnings)
        return Content("\n").join([LABEL + verdict_line(report), *(INDENT + line for line in lines)])


def _labelled(text: str, style: str = "$text-muted") -> Content:
    return LABEL + Content.styled(text, style)
