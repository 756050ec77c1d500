"""The routes view: one row per route with its live figures; filter, sort, open, edit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Static

from ..route_rows import ROUTE_COLUMNS, LiveFigures, route_rows, sort_bindings
from ..widgets.key_hints import KeyHints
from ..widgets.line_table import LineTable
from .route_screen import RouteScreen

if TYPE_CHECKING:
    # Types only: importing the metrics package loads its HTTP clients, too slow for start-up.
    from connectors.metrics.types import Snapshot
    from connectors.model import Route

    from ..widgets.command_line import CommandLine


class RoutesScreen(RouteScreen):
    VIEW = "routes"
    DEFAULT_CSS = """
    RoutesScreen #filter-info { height: 1; padding: 0 1; color: $text-muted; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/", id="view.filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="view.clear_filter"),
        Binding("enter,d", "describe", "Describe", key_display="⏎/d", id="view.describe"),
        Binding("t", "triage", "Triage", id="routes.triage"),
        *sort_bindings("routes", ROUTE_COLUMNS),
    ]

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("", id="filter-info")
        yield LineTable(ROUTE_COLUMNS, empty_text="no routes", id="routes")
        yield KeyHints()

    @property
    def table(self) -> LineTable:
        return self.query_one("#routes", LineTable)

    def on_mount(self) -> None:
        self.watch(self.app, "routes", self._routes_changed)
        self.watch(self.app, "snapshot", self._snapshot_changed)
        self.table.focus()

    def focus_body(self) -> None:
        self.table.focus()

    def _routes_changed(self, routes: tuple[Route, ...]) -> None:
        if not self.console.routes_loaded:
            self.table.set_placeholder("loading routes…" if self.console.connector else "not connected")
            return
        keys, rows = route_rows(routes)
        self.table.set_rows(keys, rows)

    def _snapshot_changed(self, snapshot: Snapshot | None) -> None:
        self.table.set_live(LiveFigures(snapshot) if snapshot is not None else None)

    def selected_route(self) -> str | None:
        return self.table.cursor_key

    # -- filter and sort ------------------------------------------------------------------------

    async def action_filter(self) -> None:
        await self.open_prompt("filter", self.table.filter_text)

    def action_clear_filter(self) -> None:
        if self.table.filter_text:
            self.table.filter_text = ""

    def on_command_line_filter(self, message: CommandLine.Filter) -> None:
        self.table.filter_text = message.text
        if message.final:
            self.table.focus()

    def action_sort(self, letter: str) -> None:
        self.table.sort_by_letter(letter)

    def on_line_table_view_changed(self, message: LineTable.ViewChanged) -> None:
        table = message.table
        parts = []
        if table.filter_text:
            parts.append(f"filter /{table.filter_text}/")
            if table.filter_note:
                parts.append(table.filter_note)
        column, reverse = table.sort_state
        if column is not None:
            parts.append(f"sorted by {ROUTE_COLUMNS[column].title.lower()} {'↓' if reverse else '↑'}")
        if table.total_count:
            parts.insert(0, f"{table.shown_count:,} of {table.total_count:,} routes")
        # One line, always: no layout pass on every keystroke of the filter.
        self.query_one("#filter-info", Static).update(Content("  ·  ".join(parts)), layout=False)

    def action_describe(self) -> None:
        from .detail import describe_selected  # the detail view loads when first opened

        describe_selected(self)

    def action_triage(self) -> None:
        """Who is rate limited, in one key from where the on-call operator starts (``:triage``)."""
        self.console.open_optional("triage", self.console.connector)

    def on_line_table_selected(self, message: LineTable.Selected) -> None:
        self.action_describe()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            ("Filter routes", "Type a regex; ! inverts (/)", self.action_filter),
            *super().palette_commands(),
        ]
