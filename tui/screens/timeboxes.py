"""Time-boxed changes and their countdown (``:timeboxes``): each change that reverts by itself, when,
and how it ended — reverted (as which change), or *needs a decision* with the reason. Read from the
gateway's time boxes (the state folder natively, the objects' annotations on Kubernetes) every
second in a worker. The reverting itself is done by whoever carries the boxes out (the reverter
beside a native Envoy; on Kubernetes any console or CLI that connects, this one included). When
nothing would carry a waiting box out (the demo's reverter killed, a gateway started otherwise), a
warning line says so and names the fix, and each waiting box's note says it; a box past its time
says "overdue".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Static

from connectors.errors import GatewayError
from connectors.timeboxes import TimeBox, overdue

from ..widgets.key_hints import KeyHints
from ..widgets.key_table import KeyTable
from ..widgets.unchanged import TableRows, update_static
from .charts import LiveScreen

STATUS_STYLE = {
    "pending": "$route-degraded",
    "reverting": "$route-degraded",
    "needs-decision": "$route-limited",
}


@dataclass(frozen=True)
class TimeboxView:
    boxes: list[TimeBox]
    problem: str
    time: float
    nobody: str = ""  # why nothing would carry out a waiting box (``RevertScheduler.unattended``)


def left(seconds: float) -> str:
    """``1h 05m``, ``9m 59s``, ``42s``: a countdown that moves every second."""
    h, rest = divmod(int(max(1, round(seconds))), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s" if m else f"{s}s"


def countdown(box: TimeBox, now: float) -> str:
    """``in 4m 10s`` while pending, ``overdue by 12s`` past its time, the clock time it was due after
    it was settled."""
    at = time.strftime("%H:%M:%S", time.localtime(box.due))
    if box.status not in ("pending", "reverting"):
        return at
    late = overdue(box, now)
    return f"overdue by {left(late)} ({at})" if late > 0 else f"in {left(box.due - now)} ({at})"


def waiting_warning(view: TimeboxView) -> str:
    """The warning line: nothing will carry out the boxes that wait, and what to run."""
    waiting = [b for b in view.boxes if b.status in ("pending", "reverting")]
    if not view.nobody or not waiting:
        return ""
    return (
        f"⚠ Nothing is running to carry out {'this revert' if len(waiting) == 1 else 'these reverts'} "
        f"({view.nobody.split(':')[0]}): run gatewayctl-tui revert-expired, or restart the gateway with up"
    )


class TimeboxesScreen(LiveScreen[TimeboxView]):
    VIEW = "timeboxes"
    DEFAULT_CSS = """
    TimeboxesScreen #boxes-info { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    TimeboxesScreen #boxes-warning { height: auto; padding: 0 1; color: $text-warning; }
    TimeboxesScreen #boxes { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", show=False, id="view.close")]

    def __init__(self, connector: Any = None) -> None:
        super().__init__()
        self.connector = connector
        self._shown_rows = TableRows()  # the table is filled again only when its rows differ

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("Time boxes · loading…", id="boxes-info")
        yield Static("", id="boxes-warning")
        table = KeyTable(id="boxes", cursor_type="row", zebra_stripes=True)  # j/k/g/G as in k9s
        table.add_columns("Change", "Routes", "Reverts", "Status", "What", "Note")
        yield table
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#boxes", DataTable).focus()
        super().on_mount()

    def focus_body(self) -> None:
        self.query_one("#boxes", DataTable).focus()

    def fetch(self) -> TimeboxView:
        from connectors.change import Change

        connector = self.connector or self.console.connector
        now = time.time()
        if connector is None:
            return TimeboxView([], "not connected to a gateway", now)
        try:
            reverts = Change(connector).hooks.reverts
            return TimeboxView(reverts.boxes(), "", now, reverts.unattended())
        except GatewayError as exc:
            return TimeboxView([], str(exc), now)

    def show(self, view: TimeboxView) -> None:
        pending = sum(1 for b in view.boxes if b.status in ("pending", "reverting"))
        late = sum(1 for b in view.boxes if overdue(b, view.time) > 0)
        decide = sum(1 for b in view.boxes if b.status == "needs-decision")
        info = f"Time boxes · {pending} pending" + (f", {late} overdue" if late else "")
        info += f" · {decide} need a decision" if decide else ""
        warning = waiting_warning(view)
        update_static(self.query_one("#boxes-warning", Static), Content(warning))
        self.query_one("#boxes-warning", Static).display = bool(warning)
        if not view.boxes and not view.problem:
            info = "Time boxes · none (a time-boxed change reverts by itself; b in triage denies a client)"
        update_static(
            self.query_one("#boxes-info", Static),
            Content(f"Time boxes · {view.problem}" if view.problem else info),
        )
        table = self.query_one("#boxes", KeyTable)
        kept = table.cursor_key  # a refresh keeps the cursor where the operator put it
        rows = []
        variables = self.app.theme_variables
        for box in sorted(view.boxes, key=lambda b: (b.status not in ("pending", "reverting"), b.due)):
            style = variables.get(STATUS_STYLE.get(box.status, "$text-muted")[1:], "")
            note = f"as change {box.revert_id}" if box.revert_id else box.reason
            if box.status in ("pending", "reverting") and view.nobody:
                note = f"{note}; {view.nobody}" if note else view.nobody
            cells = (
                box.id,
                ", ".join(box.routes),
                countdown(box, view.time),
                Text(box.status, style=style),
                box.description,
                note or "-",
            )
            rows.append((box.id, cells))
        if self._shown_rows.fill(table, rows) == "rebuilt":  # else the cursor did not move
            table.keep_cursor(kept)
