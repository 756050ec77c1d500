"""Rate-limit triage: which routes refuse requests now, since when, and who is being refused.

The table ranks routes by 429/s (``connectors.triage``); beside it, the selected route's limited vs
allowed requests over the last five minutes and its top refused clients, grouped by source address
or by a logged header (``g`` cycles; credential-like values are shown masked). ``r``/enter opens
the rate-limit editor for the selected route, whose changes go through the usual diff and apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from connectors.metrics import ChartData, Scope
from connectors.model import Route
from connectors.model.durations import format_duration
from connectors.triage import STRETCH_WINDOW_S, LimitedRoute, triage

from ..widgets.chart import TimeChart
from ..widgets.key_hints import KeyHints
from .charts import NO_SOURCE, LiveScreen, _allowed
from .deny_client import DenyActions
from .editors import open_editor

CLIENT_WINDOW_S = 300.0


@dataclass(frozen=True)
class TriageView:
    """What the triage screen shows after one refresh."""

    rows: list[LimitedRoute]
    route: str | None
    chart: ChartData | None
    clients: list[tuple[str, int]]
    client_keys: list[str]
    status: str
    time: float


def limiting_for(row: LimitedRoute, now: float) -> str:
    if row.since is None:
        return "—"
    text = format_duration(max(1.0, round(now - row.since)))
    return f"> {format_duration(STRETCH_WINDOW_S)}" if row.since_before_window else text


class TriageScreen(DenyActions, LiveScreen[TriageView]):
    VIEW = "triage"
    DEFAULT_CSS = """
    TriageScreen #triage-info { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    TriageScreen #triage { height: 1fr; min-height: 5; }
    TriageScreen #detail { height: 2fr; }
    TriageScreen #detail TimeChart { width: 2fr; }
    TriageScreen #clients-box { width: 1fr; min-width: 30; border-left: solid $panel; }
    TriageScreen #clients-title { height: auto; padding: 0 1; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,r", "edit_limit", "Edit rate limit", key_display="⏎/r", id="triage.edit_limit"),
        Binding("g", "next_grouping", "Group clients by", id="triage.next_grouping"),
        Binding("c", "charts", "Charts", id="triage.charts"),
        Binding("b", "deny_client", "Deny client", id="triage.deny_client"),
        Binding("escape", "back", "Back", show=False, id="view.close"),
    ]

    def __init__(self, connector: Any = None) -> None:
        super().__init__()
        self.connector = connector
        self.route: str | None = None
        self.by = "source"
        self.view: TriageView | None = None

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("Rate-limit triage · loading…", id="triage-info")
        table: DataTable[Any] = DataTable(id="triage", cursor_type="row", zebra_stripes=True)
        table.add_columns("Route", "429/s", "req/s", "refused", "limit", "limiting for")
        yield table
        with Horizontal(id="detail"):
            yield TimeChart("Limited vs allowed", "req/s", id="triage-chart")
            with Vertical(id="clients-box"):
                yield Static("Top refused clients", id="clients-title")
                clients: DataTable[Any] = DataTable(id="clients", cursor_type="row")
                clients.add_columns("Client", "429s")
                yield clients
        yield KeyHints()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#triage", DataTable)

    def on_mount(self) -> None:
        self.table.focus()
        super().on_mount()

    def focus_body(self) -> None:
        self.table.focus()

    def fetch(self) -> TriageView:
        connector = self.connector or self.console.connector
        source = self.metrics
        now = time.time()
        if connector is None or source is None:
            return TriageView([], None, None, [], ["source"], NO_SOURCE, now)
        rows = triage(connector, source)
        route = self.route if any(r.route == self.route for r in rows) else (rows[0].route if rows else None)
        chart = source.series(Scope(route), CLIENT_WINDOW_S) if route else None
        clients = source.top_limited_clients(route, self.by, CLIENT_WINDOW_S) if route else []
        return TriageView(rows, route, chart, clients, source.client_keys(), source.status(), now)

    def show(self, view: TriageView) -> None:
        self.view = view
        self.route = view.route
        source = self.metrics
        info = f"Rate-limit triage · {source.name if source else 'no source'}"
        limiting = sum(1 for r in view.rows if r.limiting)
        info += f" · {limiting} route{'s' if limiting != 1 else ''} limiting now"
        self.query_one("#triage-info", Static).update(
            info if view.status == "ok" else f"{info} · {view.status}"
        )
        table = self.table
        table.clear()
        for row in view.rows:
            style = "bold $route-limited" if row.limiting else ""
            limit = row.limit.describe() if row.limit is not None else "none"
            table.add_row(
                Text(row.route, style=self._style(style)),
                Text(f"{row.limited_rps:.1f}", style=self._style(style), justify="right"),
                Text(f"{row.rps:.1f}", justify="right"),
                Text(f"{row.limited_pct:.0f}%", justify="right"),
                limit,
                limiting_for(row, view.time),
                key=row.route,
            )
        if view.route is not None:
            keys = [r.route for r in view.rows]
            if view.route in keys:
                table.move_cursor(row=keys.index(view.route), animate=False)
        chart = self.query_one("#triage-chart", TimeChart)
        chart.chart_title = f"Limited vs allowed · {view.route}" if view.route else "Limited vs allowed"
        data = view.chart
        if data is None:
            chart.show((), (), "no route is rate limited" if view.status == "ok" else view.status)
        else:
            rps, limited = data.get("rps"), data.get("limited")
            lines = [limited, _allowed(rps, limited)] if rps is not None and limited is not None else []
            chart.show(data.times, lines, data.status)
        self.query_one("#clients-title", Static).update(f"Refused clients · by {self.by} · 5m")
        clients = self.query_one("#clients", DataTable)
        clients.clear()
        for client, count in view.clients:
            clients.add_row(client, Text(str(count), justify="right"))

    def _style(self, style: str) -> str:
        """A Rich style from theme variables (``$route-limited`` → its colour)."""
        variables = self.app.theme_variables
        return " ".join(variables.get(w[1:], "") if w.startswith("$") else w for w in style.split())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "triage" or event.row_key.value is None:
            return
        if event.row_key.value != self.route:
            self.route = str(event.row_key.value)
            self.poll_now()

    def action_next_grouping(self) -> None:
        keys = self.view.client_keys if self.view is not None else ["source"]
        self.by = keys[(keys.index(self.by) + 1) % len(keys)] if self.by in keys else keys[0]
        self.notify(f"Clients grouped by {self.by}", timeout=2)
        self.poll_now()

    def action_charts(self) -> None:
        from .charts import ChartsScreen

        if self.route is not None:
            self.app.push_screen(ChartsScreen(self.connector, self.route))

    def action_edit_limit(self) -> None:
        if self.route is None:
            self.notify("No route selected.", severity="warning", timeout=3)
            return
        open_editor(self, "rate_limit", self._selected_route)

    def _selected_route(self) -> Route | None:
        route = next((r for r in self.console.routes if r.name == self.route), None)
        if route is None:
            self.notify(f"Route {self.route} is not loaded yet.", severity="warning", timeout=3)
        return route
