"""Rate-limit triage: which routes refused requests over a window, since when, and who was refused.

The table ranks routes by the 429s they answered over the window the operator picks (``w`` cycles
1m / 5m / 15m, ``1`` ``2`` ``3`` pick one; 5m at first), with 429/s *now* as a column and since when
each route has been limiting (``connectors.triage``: counts from the access log, so a burst stays
on the board between bursts). Beside it, the selected route's limited vs allowed requests over the
same window and its top refused clients over it, by source address or a logged header (``g``
cycles; credential-like values masked); the panel says where the list comes from (``from the
access log, last 5m``) and, when that cannot be read, that the clients are unknown — an empty
panel says why, never "nobody" when nobody could be named. Shadowed limits are shown beside the
enforced ones ("would refuse 12% of requests, 3 clients"); on a shadowed route the panel lists who
it would refuse, and ``e`` enforces it. ``⏎``/``r`` open the rate-limit editor on the selected route
with its requests field focused; changes go through the usual diff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Static

from connectors.base import ApplyResult, Connector, Plan
from connectors.errors import GatewayError, MetricsError
from connectors.metrics import ChartData, Scope
from connectors.model import Route
from connectors.model.durations import format_duration
from connectors.shadow import CLIENT_WINDOW_S, ShadowLimit
from connectors.triage import (
    DEFAULT_WINDOW,
    WINDOWS,
    ClientSource,
    LimitedRoute,
    client_source,
    triage,
    window_label,
)

from ..editing import plan_edit
from ..outcomes import error_text
from ..widgets.chart import TimeChart
from ..widgets.key_hints import KeyHints
from ..widgets.key_table import GroupingTable, KeyTable
from ..widgets.unchanged import TableRows, update_static
from .charts import NO_SOURCE, LiveScreen, _allowed
from .deny_client import CLIENT, DenyActions
from .editors import open_editor, refusal

SHADOW_EVERY_S = 5.0
"""How often the shadowed limits are read again (they change slower than the 429s)."""
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
    clients_from: ClientSource = field(default_factory=lambda: ClientSource("the access log"))
    shadow: dict[str, ShadowLimit] = field(default_factory=dict)
    shadow_problem: str = ""  # why the shadowed limits could not be read


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
    if not limited and view.clients_from.problem:  # counted from that log: "none" would be a guess
        return f"429s over the last {label} unknown ({view.clients_from.problem})"
    if not limited:
        return f"no 429s in the last {label}"
    total = sum(r.limited for r in limited)
    limiting = sum(1 for r in view.rows if r.limiting)
    routes = f"{len(limited)} route{'s' if len(limited) != 1 else ''}"
    return f"{total:,} x 429 on {routes} in the last {label}; {limiting} limiting now"


def shadow_line(view: TriageView) -> str:
    """``Shadowed: api would refuse 12% of requests (36 of 300), 3 clients``; "" when none."""
    if view.shadow_problem:
        return f"Shadowed limits unknown: {view.shadow_problem}"
    parts = [f"{s.route} {s.describe()}" for s in view.shadow.values()]
    hint = " · e enforces it" if view.route in view.shadow else ""
    return ("Shadowed: " + "; ".join(parts) + hint) if parts else ""


def clients_note(view: TriageView) -> str:
    """What an empty clients panel means ("" when the line above it already says they are unknown)."""
    if view.status != "ok" and not view.rows:
        return view.status
    label = window_label(view.window_s)
    shadow = view.shadow.get(view.route or "")
    if shadow is not None:
        if not shadow.origin or shadow.clients:
            return ""
        if shadow.behind and shadow.would_refuse:  # counted, not in the log yet: never "none"
            return f"none named yet: the access log is behind Envoy's {shadow.would_refuse} would-be refusals"
        return f"no would-be refusals in the last {window_label(CLIENT_WINDOW_S)}"
    if view.clients_from.problem:
        return ""
    row = next((r for r in view.rows if r.route == view.route), None)
    if row is None or row.limited == 0:
        return f"no 429s in the last {label}" + (f" on {view.route}" if view.route else "")
    return f"{row.limited:,} x 429 in the last {label}, but no client named yet (the access log lags ~1 s)"


class TriageScreen(DenyActions, LiveScreen[TriageView]):
    VIEW = "triage"
    DEFAULT_CSS = """
    TriageScreen #triage-info { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    TriageScreen #triage-shadow { height: auto; padding: 0 1; color: $text-warning; }
    TriageScreen #triage { height: auto; max-height: 45%; min-height: 4; }
    TriageScreen #detail { height: 1fr; }
    TriageScreen #detail TimeChart { width: 2fr; }
    TriageScreen #clients-box { width: 1fr; min-width: 30; border-left: solid $panel; }
    TriageScreen #clients-title { height: auto; padding: 0 1; text-style: bold; }
    TriageScreen #clients-origin { height: auto; padding: 0 1; color: $text-muted; }
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
        # Hinted on the shadow line when the selected route is shadowed (the footer is full at 100 columns).
        Binding("e", "enforce", "Enforce the shadowed limit", show=False, id="triage.enforce"),
        Binding("escape", "back", "Back", show=False, id="view.close"),
    ]

    class Planned(Message, bubble=False):
        """Enforcing the selected shadowed limit, planned: ready to review."""

        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self, connector: Any = None) -> None:
        super().__init__()
        self.connector = connector
        self.route: str | None = None
        self.by = "source"
        self.window_s = WINDOWS[DEFAULT_WINDOW]
        self.view: TriageView | None = None
        self._shadow: tuple[float, dict[str, ShadowLimit], str] = (0.0, {}, "")
        self._shown_rows = TableRows()  # the tables are filled again only when their rows differ
        self._shown_clients = TableRows()

    @property
    def clients_by(self) -> str:
        """How the panel's rows name clients, for ``b``: a shadowed route's already read as deny clients."""
        view = self.view
        return CLIENT if view is not None and view.route in view.shadow else self.by

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("Rate-limit triage · loading…", id="triage-info")
        yield Static("", id="triage-shadow")
        yield GroupingTable(id="triage", cursor_type="row", zebra_stripes=True)  # j/k/G; g groups
        with Horizontal(id="detail"):
            yield TimeChart("Limited vs allowed", "req/s", id="triage-chart")
            with Vertical(id="clients-box"):
                yield Static("Refused clients", id="clients-title")
                yield Static("", id="clients-origin")
                yield Static("", id="clients-empty")
                clients = GroupingTable(id="clients", cursor_type="row")
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
        origin = client_source(connector)
        try:
            clients = source.top_limited_clients(route, by, window_s)[:10] if route else []
        except MetricsError as exc:  # the pods' logs refused: the panel says so, not a toast a second
            clients, origin = [], ClientSource(origin.origin, str(exc))
        keys, status = source.client_keys(), source.status()
        shadow, problem = self._shadow_limits(connector, now)
        return TriageView(
            rows, route, chart, clients, keys, status, now, window_s, by, origin, shadow, problem
        )

    def _shadow_limits(self, connector: Any, now: float) -> tuple[dict[str, ShadowLimit], str]:
        """The shadowed limits, read again every few seconds (an admin read and the access log's tail)."""
        at, shadow, problem = self._shadow
        catching_up = any(s.behind for s in shadow.values())  # read again at once until it caught up
        if now - at >= SHADOW_EVERY_S or catching_up:
            try:
                shadow, problem = {s.route: s for s in connector.shadow_limits()}, ""
            except GatewayError as exc:
                shadow, problem = {}, error_text(exc)[1]
            self._shadow = (now, shadow, problem)
        return shadow, problem

    # -- showing them --------------------------------------------------------------------------------

    def show(self, view: TriageView) -> None:
        # The row under the cursor is where the operator is, even before its highlight message
        # arrived (a home or G pressed while this fetch ran must not be undone).
        under = self.table.cursor_key if isinstance(self.table, KeyTable) else None
        if under is not None and under != self.route:
            self.route = under
        moved = view.route != self.route and any(r.route == self.route for r in view.rows)
        if view.window_s != self.window_s or view.by != self.by or moved:
            # Asked for before the operator switched (or moved the cursor: j j k must not jump
            # back); the fetch they asked for is on its way.
            return
        self.view = view
        self.route = view.route
        source = self.metrics
        info = f"Rate-limit triage · {source.name if source else 'no source'} · {headline(view)}"
        update_static(
            self.query_one("#triage-info", Static), info if view.status == "ok" else f"{info} · {view.status}"
        )
        shadow = self.query_one("#triage-shadow", Static)
        update_static(shadow, Content(shadow_line(view)))
        shadow.display = bool(shadow_line(view))
        self._rows(view)
        self._chart(view)
        self._clients(view)

    def _rows(self, view: TriageView) -> None:
        table = self.table
        rows = []
        for row in view.rows:
            style = self._style("bold $route-limited") if row.limiting else ""
            limit = row.limit.describe() if row.limit is not None else "none"
            cells = (
                Text(row.route, style=style),
                Text(f"{row.limited:,}", style=style, justify="right"),
                Text(f"{row.requests:,}", justify="right"),
                Text(f"{row.limited_pct:.0f}%", justify="right"),
                Text(f"{row.limited_rps:.1f}", justify="right"),
                limit,
                limiting_since(row, view.time),
            )
            rows.append((row.route, cells))
        keys = [r.route for r in view.rows]
        # The cursor ends on view.route, which is self.route: refilling must not post highlights of
        # the rows it passes (the first row's sent a fetch for it, whose show did the same: a loop).
        with table.prevent(DataTable.RowHighlighted):
            self._shown_rows.fill(table, rows)
            if view.route in keys and table.cursor_row != keys.index(view.route):
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
        shadow = view.shadow.get(view.route or "")
        title = self.query_one("#clients-title", Static)
        if shadow is not None:  # who it would refuse, from the connector's own reading
            listed = list(shadow.clients)
            update_static(title, Content(f"Would-be refused clients{who} (shadow)"))
            source = ClientSource(shadow.origin, "" if shadow.origin else shadow.note or "not known here")
            origin = source.line(window_label(CLIENT_WINDOW_S))
            if shadow.origin and shadow.behind:
                origin += " · catching up (the log is behind the counters)"
        else:
            listed = view.clients
            update_static(title, Content(f"Refused clients{who} · by {view.by} · {label}"))
            origin = view.clients_from.line(label)
        update_static(self.query_one("#clients-origin", Static), Content(origin))
        clients = self.query_one("#clients", DataTable)
        heading = "would refuse" if shadow is not None else "429s"  # a shadowed limit sent no 429
        if [str(c.label) for c in clients.columns.values()][1:] != [heading]:
            clients.clear(columns=True)
            clients.add_columns("Client", heading)
        named = [client for client, _ in listed]
        unique = len(set(named)) == len(named)  # keyed by client: its cells update in place
        self._shown_clients.fill(
            clients,
            [
                (client if unique else None, (client, Text(f"{count:,}", justify="right")))
                for client, count in listed
            ],
        )
        empty = self.query_one("#clients-empty", Static)
        note = "" if listed else clients_note(view)
        update_static(empty, Content(note))
        empty.display = bool(note)
        clients.display = bool(listed)

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

    def action_enforce(self) -> None:
        """Turn the selected shadowed limit into an enforced one, through the usual diff."""
        route = next((r for r in self.console.routes if r.name == self.route), None)
        limit = route.rate_limit if route is not None else None
        why = refusal(self.console, "rate_limit")
        if route is None or limit is None or not limit.shadow or why:
            self.notify(why or f"{self.route or 'No route'} has no shadowed limit.", severity="warning")
            return
        connector = self.connector or self.console.connector
        self._plan_enforce(connector, route, replace(route, rate_limit=replace(limit, shadow=False)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan", name="plan")
    def _plan_enforce(self, connector: Connector, route: Route, edited: Route) -> Planned:
        return self.Planned(plan_edit(connector, "rate_limit", route, edited))

    def on_triage_screen_planned(self, message: Planned) -> None:
        from .diff import DiffScreen

        def applied(result: ApplyResult | None) -> None:
            if result is not None:
                self.console.refresh_now()
                self._shadow = (0.0, {}, "")  # read the shadowed limits again at the next refresh

        self.app.push_screen(DiffScreen(message.plan, heading="Enforce the shadowed limit"), applied)

    def _selected_route(self) -> Route | None:
        route = next((r for r in self.console.routes if r.name == self.route), None)
        if route is None:
            self.notify(f"Route {self.route} is not loaded yet.", severity="warning", timeout=3)
        return route
