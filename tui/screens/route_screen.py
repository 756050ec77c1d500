"""Views about routes (list, detail, policies) share their actions: describe, YAML, edit, undo."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message

from connectors.errors import PermissionDenied

from ..outcomes import report_error
from .base import ConsoleScreen
from .editors import BY_KIND, EDITORS, edit_bindings, open_editor, refusals

if TYPE_CHECKING:
    from connectors.base import ApplyResult, Connector, EditKind, Plan

    # The routes view opens before the first frame; the model and the edit flow load after it.
    from connectors.model import Route


class UndoScreen(ConsoleScreen):
    """A view where ``u`` undoes the last applied change (through a diff, like every change)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("u", "undo", "Undo", id="view.undo")]

    class UndoPlanned(Message, bubble=False):
        """The plan that undoes the last change, ready to review."""

        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    def action_undo(self) -> None:
        connector = self.console.connector
        if connector is None:
            self.notify("Not connected to a gateway.", severity="warning")
            return
        if connector.readonly:
            report_error(
                self.app, PermissionDenied("read-only mode: undo is refused (started with --readonly)")
            )
            return
        self._plan_undo(connector)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan", name="plan-undo")
    def _plan_undo(self, connector: Connector) -> UndoPlanned:
        from connectors.change import Change

        plan = Change(connector).plan_undo()
        return self.UndoPlanned(plan)

    def on_undo_screen_undo_planned(self, message: UndoPlanned) -> None:
        from .diff import DiffScreen

        def done(outcome: ApplyResult | None) -> None:
            if outcome is not None:
                self.console.refresh_now()

        self.app.push_screen(DiffScreen(message.plan, heading="Undo the last change"), done)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [("Undo last change", "Restore what the last change replaced (u)", self.action_undo)]


class RouteScreen(UndoScreen):
    """A view about routes: describe, YAML, edit (the editors come from ``editors.EDITORS``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "yaml", "YAML", id="route.yaml"),
        Binding("e", "edit", "Edit", id="route.edit"),
        *edit_bindings("route"),
        Binding("m", "match_request", "Test request", show=False, id="route.match"),
    ]

    def selected_route(self) -> str | None:
        """The route the actions apply to."""
        return None

    def current_route(self) -> Route | None:
        name = self.selected_route()
        if name is None:
            self.notify("No route selected.", severity="warning", timeout=3)
            return None
        for route in self.console.routes:
            if route.name == name:
                return route
        self.notify(f"Route {name} is not on the gateway any more.", severity="warning")
        return None

    def action_describe(self) -> None:
        """Describe the selected route: the list views open ``detail.DetailScreen`` (this base class
        does not import its own subclass), the detail view scrolls back to the top."""

    def action_match_request(self) -> None:
        """What happens to a request: the tester filled in with a request the route's match takes,
        over this view (esc comes back here; ``:match`` is a jump from the view, as every ``:``)."""
        from .match import MatchScreen

        self.app.push_screen(MatchScreen(self.console.connector, self.selected_route()))

    def action_yaml(self) -> None:
        from .yaml_view import YamlScreen

        if (route := self.current_route()) is not None:
            self.app.push_screen(YamlScreen(route.name))

    def action_edit(self) -> None:
        from .edit_chooser import EditChooser

        if (route := self.current_route()) is None:
            return
        reasons = refusals(self.console)
        if all(reasons.values()):
            self.notify(
                "; ".join(sorted({r for r in reasons.values() if r})), title="Cannot edit", severity="warning"
            )
            return

        def chosen(kind: EditKind | None) -> None:
            if kind is not None:
                self.action_edit_kind(kind)

        self.app.push_screen(EditChooser(route.name, reasons), chosen)

    def action_edit_kind(self, kind: str) -> None:
        if (spec := BY_KIND.get(kind)) is not None:
            open_editor(self, spec.kind, self.current_route)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        route = self.selected_route()
        out = super().palette_commands()
        if route:
            out += [
                (f"Describe {route}", "Matches, backends, policies, live figures (d)", self.action_describe),
                (f"YAML of {route}", "The native objects behind the route (y)", self.action_yaml),
                (
                    f"Test a request on {route}",
                    "What happens to a request it takes (m)",
                    self.action_match_request,
                ),
            ]
            out += [
                (
                    f"{spec.title} of {route}",
                    f"{spec.hint} ({spec.key})",
                    partial(self.action_edit_kind, spec.kind),
                )
                for spec in EDITORS
            ]
        return out
