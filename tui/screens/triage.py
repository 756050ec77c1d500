"""Rate-limit triage: which routes refused requests over a window, since when, and who was refused.

The table ranks routes by the 429s they answered over the window the operator picks (``w`` cycles
1m / 5m / 15m, ``1`` ``2`` ``3`` pick one; 5m at first), with 429/s *now* as a column and since when
each route has been limiting (``connectors.triage``: counts from the access log, so a burst stays
on the board between bursts). Beside it, the selected route's limited vs allowed requests over the
same window and its top refused clients over it, by source address or a logged header (``g``
cycles; credential-like values masked); an empty panel says why. ``⏎``/``r`` open the rate-limit
editor on the selected route with its requests field focused; changes go through the usual diff.
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

from connectors.errors import GatewayError, MetricsError
from connectors.metrics import ChartData, Scope
from connectors.model import Route
from connectors.model.durations import format_duration
from connectors.triage import DEFAULT_WINDOW, WINDOWS, LimitedRoute, triage, window_label

from ..outcomes import error_text
from ..widgets.chart import TimeChart
from ..widgets.key_hints import KeyHints
from .charts import NO_SOURCE, LiveScreen, _allowed
from .deny_client import DenyActions
from .editors import open_editor

COLUMNS = ("Route", "429s", "requests", "refused", "429/s now", "limit", "limiting since")


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
    window_s: float = WINDOWS[DEFAULT_WINDOW]
    by: str = "source"


def limiting_since(row: LimitedRoute, now: float) -> str:
    """``11:58:53 (20s)``: when the current stretch of 429s began and how long ago; ``—`` when the
    route is not limiting now."""
    if row.since is None:
        return "—"
    held = ("> " if row.since_before_window else "") + format_duration(max(1.0, round(now - row.since)))
    return f"{time.strftime('%H:%M:%S', time.localtime(row.since))} ({held})"


def headline(view: TriageView) -> str:
    if view.status != "ok" and not view.rows:
        return "no figures"  # the status beside it says since when and why; not "no 429s"
    label = window_label(view.window_s)
    limited = [r for r in view.rows if r.limited > 0]
    if not limited:
        return f"no 429s in the last {label}"
    total = sum(r.limited for r in limited)
    limiting = sum(1 for r in view.rows if r.limiting)
    routes = f"{len(limited)} route{'s' if len(limited) != 1 else ''}"
    return f"{total:,} x 429 on {routes} in the last {label}; {limiting} limiting now"


def clients_note(view: TriageView) -> str:
    """What an empty clients panel means."""
    if view.status != "ok" and not view.rows:
        return view.status
    label = window_label(view.window_s)
    row = next((r for r in view.rows if r.route == view.route), None)
    if row is None or row.limited == 0:
        return f"no 429s in the last {label}" + (f" on {view.route}" if view.route else "")
    return f"{row.limited:,} x 429 in the last {label}, but no client named yet (the access log lags ~1 s)"


class TriageScreen(DenyActions, LiveScreen[TriageView]):
    VIEW = "triage"
    DEFAULT_CSS = """
    TriageScreen #triage-info { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    TriageScreen #triage { height: auto; max-height: 45%; min-height: 4; }
    TriageScreen #detail { height: 1fr; }
    TriageScreen #detail TimeChart { width: 2fr; }
    TriageScreen #clients-box { width: 1fr; min-width: 30; border-left: solid $panel; }
    TriageScreen #clients-title { height: auto; padding: 0 1; text-style: bold; }
    TriageScreen #clients-empty { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,r", "edit_limit", "Edit rate limit", key_display="⏎/r", id="triage.edit_limit"),
        Binding("w", "next_window", "Window", id="triage.next_window"),
        Binding("1", "window('1m')", "1m", show=False, id="triage.window_1m"),
        Binding("2", "window('5m')", "5m", show=False, id="triage.window_5m"),
        Binding("3", "window('15m')", "15m", show=False, id="triage.window_15m"),
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
        self.window_s = WINDOWS[DEFAULT_WINDOW]
        self.view: TriageView | None = None

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("Rate-limit triage · loading…", id="triage-info")
        yield DataTable(id="triage", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="detail"):
            yield TimeChart("Limited vs allowed", "req/s", id="triage-chart")
            with Vertical(id="clients-box"):
                yield Static("Refused clients", id="clients-title")
                yield Static("", id="clients-empty")
                clients: DataTable[Any] = DataTable(id="clients", cursor_type="row")
                clients.add_columns("Client", "429s")
                yield clients
        yield KeyHints()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#triage", DataTable)

    def on_mount(self) -> None:
        self._columns()
        self.table.focus()
        super().on_mount()

    def focus_body(self) -> None:
        self.table.focus()

    def _columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        label = window_label(self.window_s)
        for title in COLUMNS:
            table.add_column(f"429s ({label})" if title == "429s" else title, key=title)

    # -- figures (worker thread) -------------------------------------------------------------------

    def fetch(self) -> TriageView:
        connector = self.connector or self.console.connector
        source = self.metrics
        now, window_s, by = time.time(), self.window_s, self.by
        if connector is None or source is None:
            return TriageView([], None, None, [], ["source"], NO_SOURCE, now, window_s, by)
        try:
            rows = triage(connector, source, window_s)
        except MetricsError as exc:  # e.g. Envoy gone: "no data since …", never the last figures
            return TriageView([], None, None, [], source.client_keys(), str(exc), now, window_s, by)
        route = self.route if any(r.route == self.route for r in rows) else (rows[0].route if rows else None)
        chart = source.series(Scope(route), window_s) if route else None
        clients = source.top_limited_clients(route, by, window_s)[:10] if route else []
        keys, status = source.client_keys(), source.status()
        return TriageView(rows, route, chart, clients, keys, status, now, window_s, by)

    # -- showing them --------------------------------------------------------------------------------

    def show(self, view: TriageView) -> None:
        if view.window_s != self.window_s or view.by != self.by:
            return  # asked for before the operator switched; the fetch they asked for is on its way
        self.view = view
        self.route = view.route
        source = self.metrics
        info = f"Rate-limit triage · {source.name if source else 'no source'} · {headline(view)}"
        self.query_one("#triage-info", Static).update(
            info if view.status == "ok" else f"{info} · {view.status}"
        )
        self._rows(view)
        self._chart(view)
        self._clients(view)

    def _rows(self, view: TriageView) -> None:
        table = self.table
        table.clear()
        for row in view.rows:
            style = self._style("bold $route-limited") if row.limiting else ""
            limit = row.limit.describe() if row.limit is not None else "none"
            table.add_row(
                Text(row.route, style=style),
                Text(f"{row.limited:,}", style=style, justify="right"),
                Text(f"{row.requests:,}", justify="right"),
                Text(f"{row.limited_pct:.0f}%", justify="right"),
                Text(f"{row.limited_rps:.1f}", justify="right"),
                limit,
                limiting_since(row, view.time),
                key=row.route,
            )
        keys = [r.route for r in view.rows]
        if view.route in keys:
            table.move_cursor(row=keys.index(view.route), animate=False)

    def _chart(self, view: TriageView) -> None:
        chart = self.query_one("#triage-chart", TimeChart)
        label = window_label(view.window_s)
        chart.chart_title = f"Limited vs allowed · {view.route or 'no route'} · {label}"
        data = view.chart
        if data is None:
            chart.show((), (), "no route is rate limited" if view.status == "ok" else view.status)
            return
        rps, limited = data.get("rps"), data.get("limited")
        lines = [limited, _allowed(rps, limited)] if rps is not None and limited is not None else []
        chart.show(data.times, lines, data.status)

    def _clients(self, view: TriageView) -> None:
        label = window_label(view.window_s)
        who = f" of {view.route}" if view.route else ""
        self.query_one("#clients-title", Static).update(f"Refused clients{who} · by {view.by} · {label}")
        clients = self.query_one("#clients", DataTable)
        clients.clear()
        for client, count in view.clients:
            clients.add_row(client, Text(f"{count:,}", justify="right"))
        empty = self.query_one("#clients-empty", Static)
        empty.update("" if view.clients else clients_note(view))
        empty.display = not view.clients
        clients.display = bool(view.clients)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        """A refresh that failed says why in the heading (and tries again), not in a toast a second."""
        handled = super().worker_failed(name, error)
        if name != "live" or not isinstance(error, GatewayError):
            return handled
        title, text = error_text(error)
        shown = time.strftime("%H:%M:%S", time.localtime(self.view.time)) if self.view else None
        kept = f" · the table is from {shown}" if shown else ""
        self.query_one("#triage-info", Static).update(f"Rate-limit triage · ✖ {title}: {text}{kept}")
        return True

    def _style(self, style: str) -> str:
        """A Rich style from theme variables (``$route-limited`` → its colour)."""
        variables = self.app.theme_variables
        return " ".join(variables.get(w[1:], "") if w.startswith("$") else w for w in style.split())

    # -- keys ----------------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "triage" or event.row_key.value is None:
            return
        if event.row_key.value != self.route:
            self.route = str(event.row_key.value)
            self.poll_now()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The table takes ⏎ for itself (select the row): ⏎ on a route edits its limit, as the hint says.
        event.stop()
        if event.data_table.id == "triage" and event.row_key.value is not None:
            self.route = str(event.row_key.value)
        self.action_edit_limit()

    def action_window(self, label: str) -> None:
        self.window_s = WINDOWS[label]
        self._columns()
        self.notify(f"429s over the last {label}", timeout=2)
        self.poll_now()

    def action_next_window(self) -> None:
        labels = list(WINDOWS)
        now = window_label(self.window_s)
        self.action_window(labels[(labels.index(now) + 1) % len(labels)] if now in labels else DEFAULT_WINDOW)

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
