"""Views about routes (list, detail, policies) share their actions: describe, YAML, edit, undo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType

from connectors.errors import PermissionDenied

from ..outcomes import report_error
from .base import ConsoleScreen

if TYPE_CHECKING:
    from connectors.base import ApplyResult, EditKind

    # The routes view opens before the first frame; the model and the edit flow load after it.
    from connectors.model import Route


class UndoScreen(ConsoleScreen):
    """A view where ``u`` undoes the last applied change (through a diff, like every change)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("u", "undo", "Undo")]

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
        from connectors.change import Change

        self.run_worker(
            Change(connector).plan_undo,
            thread=True,
            group="plan",
            exclusive=True,
            name="plan-undo",
            exit_on_error=False,
        )

    def worker_succeeded(self, name: str, result: Any) -> None:
        from connectors.base import Plan

        if name == "plan-undo" and isinstance(result, Plan):
            from .diff import DiffScreen

            def done(outcome: ApplyResult | None) -> None:
                if outcome is not None:
                    self.console.refresh_now()

            self.app.push_screen(DiffScreen(result, heading="Undo the last change"), done)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [("Undo last change", "Restore what the last change replaced (u)", self.action_undo)]


class RouteScreen(UndoScreen):
    """A view about routes: describe, YAML, edit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "yaml", "YAML"),
        Binding("e", "edit", "Edit"),
        Binding("w", "edit_weights", "Edit weights", show=False),
        Binding("r", "edit_rate_limit", "Edit rate limit", show=False),
        Binding("c", "edit_cors", "Edit CORS", show=False),
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
        from .detail import DetailScreen

        if (route := self.current_route()) is not None:
            self.app.push_screen(DetailScreen(route.name))

    def action_yaml(self) -> None:
        from .yaml_view import YamlScreen

        if (route := self.current_route()) is not None:
            self.app.push_screen(YamlScreen(route.name))

    def refusal(self, kind: EditKind) -> str | None:
        """Why ``kind`` cannot be edited here, or None."""
        if self.console.connector is None:
            return "not connected to a gateway"
        capabilities = self.console.capabilities
        return None if capabilities.can(kind) else capabilities.why_not(kind)

    def action_edit(self) -> None:
        from ..editing import EDIT_KINDS
        from .edit_chooser import EditChooser

        if (route := self.current_route()) is None:
            return
        refusals = {kind: self.refusal(kind) for kind in EDIT_KINDS}
        if all(refusals.values()):
            reasons = sorted({r for r in refusals.values() if r})
            self.notify("; ".join(reasons), title="Cannot edit", severity="warning")
            return

        def chosen(kind: EditKind | None) -> None:
            if kind is not None:
                self.open_editor(kind)

        self.app.push_screen(EditChooser(route.name, refusals), chosen)

    def action_edit_weights(self) -> None:
        self.open_editor("weights")

    def action_edit_rate_limit(self) -> None:
        self.open_editor("rate_limit")

    def action_edit_cors(self) -> None:
        self.open_editor("cors")

    def open_editor(self, kind: EditKind) -> None:
        from ..editing import LABELS
        from .edit_cors import CorsEditor
        from .edit_rate_limit import RateLimitEditor
        from .edit_weights import WeightsEditor

        reason = self.refusal(kind)
        if reason:
            self.notify(reason, title=f"Cannot edit {LABELS[kind]}", severity="warning")
            return
        route = self.current_route()
        if route is None:
            return
        editor = {"weights": WeightsEditor, "rate_limit": RateLimitEditor, "cors": CorsEditor}[kind]
        self.app.push_screen(editor(route))

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        route = self.selected_route()
        out = super().palette_commands()
        if route:
            out += [
                (f"Describe {route}", "Matches, backends, policies, live figures (d)", self.action_describe),
                (f"YAML of {route}", "The native objects behind the route (y)", self.action_yaml),
                (f"Edit weights of {route}", "Shift traffic between backends (w)", self.action_edit_weights),
                (
                    f"Edit rate limit of {route}",
                    "Requests per interval and burst (r)",
                    self.action_edit_rate_limit,
                ),
                (f"Edit CORS of {route}", "Origins, methods, headers, probe (c)", self.action_edit_cors),
            ]
        return out
