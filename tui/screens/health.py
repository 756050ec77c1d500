"""Backend health, worst first (``:health``): per route backend whether anything checks it (else
"not checked"), its requests failed over the last minutes, whether its endpoints are healthy or
ejected, outlier ejections now and since the proxy started, circuit-breaker overflows and active
connections/requests against the thresholds (``connectors.health``). Below the table, the selected
backend's endpoints and what is wrong with them. Refreshed in a worker like the other live views;
the failures are counted from the oldest reading of the last ``WINDOW_S`` (``HealthWindow``: since
the proxy started until there is one). A gateway that cannot read health says why in the info line.
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
from connectors.health import BackendHealth, HealthWindow, backend_health

from ..widgets.key_hints import KeyHints
from ..widgets.key_table import KeyTable
from ..widgets.unchanged import TableRows, update_static
from .charts import LiveScreen

STATE_STYLE = {
    "healthy": "$route-healthy",
    "degraded": "$route-degraded",
    "ejected": "$route-limited",
    "unhealthy": "$route-limited",
    "failing": "$route-limited",
    "unchecked": "$text-muted",
    "unknown": "$text-muted",
}
WINDOW_S = 300.0
"""Failures are counted over this long (from the view's oldest reading in it)."""


@dataclass(frozen=True)
class HealthView:
    rows: list[BackendHealth]
    problem: str  # why health cannot be read ("" when it was)
    time: float


def row_key(b: BackendHealth) -> str:
    return f"{b.route}\x00{b.backend}"


def notes(b: BackendHealth) -> list[str]:
    """What the detail lines say about one backend: what its state means, its failures, limits near,
    breakers open, then each endpoint."""
    return b.notes() + [e.describe() for e in b.endpoints]


HEADERS = ("Route", "Backend", "State", "OK", "Failed/req", "Ejected now/total", "Overflows", "Active/max")


def fit_fields(cell: str, width: int) -> str:
    """``cx 2/1024 rq 0/1024 pend 0/1024`` in ``width`` cells: whole sub-fields are left out, from
    the end, with a ``…`` saying so — a number is never cut (``cx 2/10`` would read as a limit)."""
    fields = [" ".join(pair) for pair in zip(cell.split()[::2], cell.split()[1::2], strict=False)]
    shown = fields
    while len(shown) > 1 and len(" ".join(shown)) > width:
        shown = shown[:-1]
        while len(shown) > 1 and len(" ".join(shown)) + 2 > width:
            shown = shown[:-1]
    return " ".join(shown) + (" …" if len(shown) < len(fields) else "")


def last_column_room(table: DataTable[Any], rows: list[tuple[str, ...]]) -> int:
    """How many cells the last column has before the table's right edge (its other columns as wide
    as their widest cell, each padded both sides)."""
    pad = 2 * table.cell_padding
    others = sum(max([len(HEADERS[i])] + [len(r[i]) for r in rows]) + pad for i in range(len(HEADERS) - 1))
    scrollbar = table.styles.scrollbar_size_vertical
    return table.size.width - others - pad - scrollbar


class HealthScreen(LiveScreen[HealthView]):
    VIEW = "health"
    DEFAULT_CSS = """
    HealthScreen #health-info { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    HealthScreen #health { height: 2fr; min-height: 5; }
    HealthScreen #health-detail { height: 1fr; padding: 0 1; border-top: solid $panel; overflow-y: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, id="view.close"),
        Binding("enter", "describe", "Route detail", key_display="⏎", id="health.describe"),
    ]

    def __init__(self, connector: Any = None) -> None:
        super().__init__()
        self.connector = connector
        self.view: HealthView | None = None
        self.selected: str | None = None
        self.window = HealthWindow(WINDOW_S)  # touched by the fetch worker only (one at a time)
        self._shown_rows = TableRows()

    @property
    def refresh_seconds(self) -> float:
        return max(2.0, super().refresh_seconds)  # two admin reads per gateway pod each time

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("Backend health · loading…", id="health-info")
        table = KeyTable(id="health", cursor_type="row", zebra_stripes=True)  # j/k/g/G as in k9s
        table.add_columns(*HEADERS)
        yield table
        yield Static("", id="health-detail")
        yield KeyHints()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#health", DataTable)

    def on_mount(self) -> None:
        self.table.focus()
        super().on_mount()

    def focus_body(self) -> None:
        self.table.focus()

    def fetch(self) -> HealthView:
        connector = self.connector or self.console.connector
        now = time.time()
        if connector is None:
            return HealthView([], "not connected to a gateway", now)
        try:
            return HealthView(self.window.apply(backend_health(connector), now), "", now)
        except GatewayError as exc:  # cannot be read here: said in the info line, not a toast a second
            return HealthView([], str(exc), now)

    def show(self, view: HealthView) -> None:
        self.view = view
        bad = sum(1 for b in view.rows if b.in_trouble)
        windows = [b.window_s for b in view.rows if b.window_s is not None]
        counted = (
            f"failed/req over the {HealthWindow.label(max(windows))}" if windows else "failed/req since start"
        )
        info = f"Backend health · {len(view.rows)} backends, {bad} in trouble · {counted} · worst first"
        update_static(
            self.query_one("#health-info", Static),
            Content(f"Backend health · {view.problem}" if view.problem else info),
        )
        table = self.table
        variables = self.app.theme_variables
        cells = [b.cells(pending="pend", mark_start=True) for b in view.rows]
        room = last_column_room(table, cells)
        rows = []
        for b, (route, backend, state, *figures) in zip(view.rows, cells, strict=True):
            style = variables.get(STATE_STYLE[b.state][1:], "")
            figures[-1] = fit_fields(figures[-1], room) if room > 0 else figures[-1]
            rows.append((row_key(b), (route, backend, Text(state, style=style), *figures)))
        self._shown_rows.fill(table, rows)  # filled again only when the rows differ
        keys = [row_key(b) for b in view.rows]
        if self.selected in keys and table.cursor_row != keys.index(self.selected):
            table.move_cursor(row=keys.index(self.selected), animate=False)
        self._show_detail()

    def on_resize(self) -> None:
        if self.view is not None:  # the Active/max column fits the new width
            self.show(self.view)

    def _current(self) -> BackendHealth | None:
        rows = self.view.rows if self.view is not None else []
        return next((b for b in rows if row_key(b) == self.selected), rows[0] if rows else None)

    def _show_detail(self) -> None:
        b = self._current()
        text = (
            f"{b.route} → {b.backend} ({b.cluster})\n" + "\n".join(f"  {n}" for n in notes(b))
            if b is not None
            else ""
        )
        update_static(self.query_one("#health-detail", Static), Content(text))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "health" and event.row_key.value is not None:
            self.selected = str(event.row_key.value)
            self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "health":  # the table takes enter itself
            self.action_describe()

    def selected_route(self) -> str | None:
        b = self._current()
        return b.route if b is not None else None

    def action_describe(self) -> None:
        from .detail import DetailScreen

        route = self.selected_route()
        if route is not None:
            self.app.push_screen(DetailScreen(route))
