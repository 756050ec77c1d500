"""``:policies``: every policy on every route, one row each; enter describes the route."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from connectors.model import Route

from ..route_rows import POLICY_COLUMNS, policy_rows, sort_bindings
from ..widgets.command_line import CommandLine
from ..widgets.key_hints import KeyHints
from ..widgets.line_table import LineTable
from .editors import BY_POLICY
from .route_screen import RouteScreen


class PoliciesScreen(RouteScreen):
    VIEW = "policies"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/", id="view.filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="view.clear_filter"),
        Binding("enter,d", "describe", "Describe", key_display="⏎/d", id="view.describe"),
        *sort_bindings("policies", POLICY_COLUMNS),
    ]

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield LineTable(POLICY_COLUMNS, empty_text="no policies on any route", id="policies")
        yield KeyHints()

    @property
    def table(self) -> LineTable:
        return self.query_one("#policies", LineTable)

    def on_mount(self) -> None:
        self.watch(self.app, "routes", self._routes_changed)
        self.table.focus()

    def focus_body(self) -> None:
        self.table.focus()

    def _routes_changed(self, routes: tuple[Route, ...]) -> None:
        if self.console.routes_loaded:
            self.table.set_rows(*policy_rows(routes))

    def selected_route(self) -> str | None:
        key = self.table.cursor_key
        return key.split("\t", 1)[0] if key else None

    def action_edit(self) -> None:
        """Edit the selected policy directly when the console has a form for it."""
        key = self.table.cursor_key
        policy = key.split("\t", 1)[1] if key else ""
        if policy in BY_POLICY:
            self.action_edit_kind(BY_POLICY[policy].kind)
        else:
            super().action_edit()

    async def action_filter(self) -> None:
        await self.open_prompt("filter", self.table.filter_text)

    def on_command_line_filter(self, message: CommandLine.Filter) -> None:
        self.table.filter_text = message.text
        if message.final:
            self.table.focus()

    def action_clear_filter(self) -> None:
        self.table.filter_text = ""

    def action_sort(self, letter: str) -> None:
        self.table.sort_by_letter(letter)

    def action_describe(self) -> None:
        from .detail import describe_selected  # the detail view loads when first opened

        describe_selected(self)

    def on_line_table_selected(self, message: LineTable.Selected) -> None:
        self.action_describe()
