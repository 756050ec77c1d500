"""Deny a client on a route, for a while: the dialog behind ``b`` in triage (the selected refused
client) and in a route's detail view.

The operator checks the client (``x-user-id=crawler-7``, ``ip=203.0.113.0/24``), the status and how
long (``1h``; empty: until lifted); the deny is planned like any edit (``Change.plan_edit("deny")``,
rebased onto the route now), reviewed in the usual diff with its time box, and applied there: the
diff schedules the revert (``Change.revert_later``) as for any time-boxed change; it reverts by
itself through the same path, and ``:timeboxes`` counts down.
Bad input is one line under the form; nothing is planned.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Static

from connectors.base import ApplyResult, Connector, Plan
from connectors.errors import GatewayError, ValidationError
from connectors.model import Deny, Route

from ..editing import plan_edit
from ..outcomes import error_text
from .base import ConsoleModal
from .editors import refusal

DEFAULT_FOR = "1h"


def client_text(by: str, client: str) -> str | None:
    """The deny client for a triage clients row grouped ``by`` (``source`` or a header), or None when
    the value is not shown whole (a credential's prefix and hash, a shortened value)."""
    if by == "source":
        return f"ip={client}"  # shown without its port
    if "…" in client:
        return None
    return f"{by}={client}"


class DenyScreen(ConsoleModal):
    DEFAULT_CSS = """
    DenyScreen { align: center middle; }
    DenyScreen #dialog {
        width: 80; max-width: 100%; height: auto; border: thick $error; background: $surface; padding: 0 1;
    }
    DenyScreen #title { text-style: bold; padding: 0 0 1 0; }
    DenyScreen .row { height: auto; }
    DenyScreen .label { width: 12; padding: 1 1 0 0; text-style: bold; }
    DenyScreen Input { width: 1fr; }
    DenyScreen #deny-error { color: $text-error; height: auto; }
    DenyScreen #deny-hint { color: $text-muted; height: auto; padding: 1 0 0 0; }
    DenyScreen #buttons { height: auto; padding: 1 0 0 0; }
    DenyScreen #buttons Button { margin: 0 2 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="dialog.close"),
        Binding("ctrl+s", "plan", "Review…", id="deny.plan"),
    ]

    class Planned(Message, bubble=False):
        def __init__(self, plan: Plan, seconds: float | None) -> None:
            super().__init__()
            self.plan, self.seconds = plan, seconds

    def __init__(self, route: Route, client: str = "", duration: str = DEFAULT_FOR) -> None:
        super().__init__()
        self.route, self.client, self.duration = route, client, duration
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                Content.assemble("Deny a client on route ", Content.styled(self.route.name, "bold")),
                id="title",
            )
            for label, field, value, hint in (
                ("Client", "deny-client", self.client, "HEADER=VALUE or ip=CIDR"),
                ("Status", "deny-status", "403", "HTTP error status"),
                ("For", "deny-for", self.duration, "e.g. 30m, 1h (empty: until lifted)"),
            ):
                with Horizontal(classes="row"):
                    yield Static(label, classes="label")
                    yield Input(value, placeholder=hint, id=field)
            yield Static("", id="deny-error")
            current = self.route.deny.describe() if self.route.deny else "nobody"
            yield Static(
                Content(f"Denied now: {current}. Review shows the diff; nothing changes before it."),
                id="deny-hint",
            )
            with Horizontal(id="buttons"):
                yield Button("Review… (ctrl+s)", id="plan", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#deny-client" if not self.client else "#deny-for", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan":
            self.action_plan()
        else:
            self.action_close()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_plan()

    def _error(self, text: str) -> None:
        self.query_one("#deny-error", Static).update(Content(f"✖ {text}" if text else ""))

    def _edited(self) -> tuple[Route, float | None] | None:
        """The route with the client added, and the time box; None (said under the form) when bad."""
        from connectors.model.deny import deny_problems, parse_client
        from connectors.timeboxes import parse_for

        values = {
            f: self.query_one(f"#{f}", Input).value.strip()
            for f in ("deny-client", "deny-status", "deny-for")
        }
        try:
            client = parse_client(values["deny-client"])
            status = int(values["deny-status"] or "403")
        except ValidationError as exc:
            self._error("client: " + "; ".join(p.message for p in exc.problems))
            return None
        except ValueError as exc:
            self._error(f"status: {exc}")
            return None
        try:
            seconds = parse_for(values["deny-for"]) if values["deny-for"] else None
        except ValueError as exc:
            self._error(f"for: {exc}")
            return None
        current = self.route.deny.clients if self.route.deny else ()
        deny = Deny(tuple(dict.fromkeys([*current, client])), status)
        problems = deny_problems(deny, "deny")
        if problems:
            self._error("; ".join(str(p) for p in problems))
            return None
        self._error("")
        return replace(self.route, deny=deny), seconds

    def action_plan(self) -> None:
        connector = self.console.connector
        why = refusal(self.console, "deny")
        if why:
            self._error(why)
            return
        edited = self._edited()
        if self.busy or edited is None or connector is None:
            return
        from connectors.change import Change

        if edited[1] is not None and not Change(connector).can_time_box:
            self._error("for: this gateway cannot revert a change by itself later; leave For empty")
            return
        self.busy = True
        self._plan(connector, edited[0], edited[1])

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan", name="plan")
    def _plan(self, connector: Connector, edited: Route, seconds: float | None) -> Planned:
        return self.Planned(plan_edit(connector, "deny", self.route, edited), seconds)

    def on_deny_screen_planned(self, message: Planned) -> None:
        from .diff import DiffScreen

        self.busy = False
        duration = self.query_one("#deny-for", Input).value.strip() if message.seconds else ""

        def applied(result: ApplyResult | None) -> None:
            if result is not None:
                self.console.refresh_now()
                self.dismiss(result)

        diff = DiffScreen(message.plan, heading="Review the deny", revert_after=duration)
        self.app.push_screen(diff, applied)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        self.busy = False
        title, text = error_text(error)
        self._error(f"{title}: {text}")
        return isinstance(error, GatewayError)


class DenyActions:
    """``b`` on a view: deny the refused client selected in triage, or a client of the shown route."""

    def action_deny_client(self) -> None:
        from textual.widgets import DataTable

        screen: Any = self
        name = getattr(screen, "route", None)
        if not isinstance(name, str):
            name = screen.selected_route()
        route = next((r for r in screen.console.routes if r.name == name), None)
        if route is None:
            screen.notify("Select a route first.", severity="warning", timeout=3)
            return
        client: str | None = ""
        clients = screen.query("#clients")
        table = clients.first() if clients else None
        if isinstance(table, DataTable) and table.row_count:
            shown = str(table.get_row_at(table.cursor_row)[0])
            client = client_text(getattr(screen, "by", "source"), shown)
            if client is None:
                screen.notify(f"{shown} is not shown whole (a credential): type the client", timeout=4)
        screen.app.push_screen(DenyScreen(route, client or ""))
