"""Deny a client on a route, for a while: the dialog behind ``b`` in triage (the selected refused
client) and in a route's detail view.

The operator checks the client (``x-user-id=crawler-7``, ``ip=203.0.113.0/24``), the status and how
long (``1h``; empty: until lifted); the deny is planned like any edit (``Change.plan_edit("deny")``,
rebased onto the route now), reviewed in the usual diff with its time box, and applied there: the
diff schedules the revert (``Change.revert_later``) as for any time-boxed change; it reverts by
itself through the same path, and ``:timeboxes`` counts down.
Every field is checked as it is typed (one line under it; Review stays disabled until all are
good); nothing is planned meanwhile; ``esc`` on a changed form asks first.

An address is checked against the route's recent requests (``connectors.client_share``) before it
is prefilled: when it is everyone (a load balancer, localhost) the form prefills the header client
that got its 429s instead, or nothing, and says why. An address typed anyway is warned about under
the form, asked about before planning, and warned about in the diff.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Static

from connectors.base import ApplyResult, Connector, Plan
from connectors.client_share import RouteTraffic, deny_warnings, recent_traffic
from connectors.errors import GatewayError, ValidationError
from connectors.model import Deny, DenyClient, Route

from ..editing import plan_edit
from ..outcomes import error_text
from ..widgets.form_input import FormInput
from .base import ConsoleModal
from .edit_base import FieldError, ask_to_discard
from .editors import refusal

DEFAULT_FOR = "1h"
FIELDS = ("deny-client", "deny-status", "deny-for")
LABELS = {"deny-client": "Client", "deny-status": "Status", "deny-for": "For"}
CLIENT = "client"
"""A view's ``clients_by`` when its rows already read as deny clients (``x-user-id=u1``, ``ip=…``)."""


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
    DenyScreen #deny-warning { color: $text-warning; height: auto; }
    DenyScreen #deny-keys { color: $text-warning; height: auto; }
    DenyScreen #deny-hint { color: $text-muted; height: auto; padding: 1 0 0 0; }
    DenyScreen #buttons { height: auto; padding: 1 0 0 0; }
    DenyScreen #buttons Button { margin: 0 2 0 0; }
    DenyScreen #buttons Button:focus { text-style: bold reverse; }
    DenyScreen .label.-focused { color: $text-accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="dialog.close"),
        Binding("ctrl+s", "plan", "Review…", id="deny.plan"),
    ]

    class Planned(Message, bubble=False):
        def __init__(self, plan: Plan, seconds: float | None) -> None:
            super().__init__()
            self.plan, self.seconds = plan, seconds

    class Traffic(Message, bubble=False):
        def __init__(self, traffic: RouteTraffic) -> None:
            super().__init__()
            self.traffic = traffic

    def __init__(
        self, route: Route, client: str = "", duration: str = DEFAULT_FOR, *, address: str | None = None
    ) -> None:
        """``address``: a refused client's address, prefilled only once the route's recent requests
        show it is not everyone (until then, and otherwise, the client field is not filled with it)."""
        super().__init__()
        self.route, self.client, self.duration, self.address = route, client, duration, address
        self.busy = False
        self.traffic: RouteTraffic | None = None
        self.note = ""  # why the prefill is not the refused address
        self.confirmed: set[DenyClient] = set()  # addresses the operator said yes to denying anyway
        self.initial: dict[str, str] = {}
        self.lost = ""  # characters typed while a button had focus, said under the form

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
                    yield Static(label, classes="label", id=f"{field}-label")
                    # FormInput: Tab moves on as typed, and focus selects the value (seen, replaced).
                    yield FormInput(value, placeholder=hint, id=field)
                yield FieldError(id=f"{field}-error")  # checked as typed, one line under the field
            yield Static("", id="deny-error")
            yield Static("", id="deny-keys")
            yield Static("", id="deny-warning")
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
        self.initial = self._values()
        self._warn("")
        self._keys_note("")
        self._check_fields()
        if self.address is not None:
            self._warn(f"checking how much of {self.route.name}'s traffic {self.address} sends…")
        connector = self.console.connector
        if connector is not None:
            self._load_traffic(connector)

    def _values(self) -> dict[str, str]:
        return {f: self.query_one(f"#{f}", Input).value for f in FIELDS}

    @property
    def dirty(self) -> bool:
        """The operator changed a field: closing would lose it."""
        return self._values() != self.initial

    def quit_cost(self) -> str | None:
        """What quitting now would lose (the app asks before quitting when this is not None)."""
        if not self.dirty:
            return None
        return f"your unapplied deny on route {self.route.name} is lost"

    def action_close(self) -> None:
        """Close; a changed form asks first, so a stray esc never throws the deny away."""
        if self.busy:
            return
        if not self.dirty:
            self.dismiss(None)
            return
        values = self._values()
        who = values["deny-client"].strip() or "no client yet"
        ask_to_discard(self, [f"deny on route {self.route.name}: {who}, for {values['deny-for'] or 'ever'}"])

    # -- who the address is --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="traffic", name="traffic")
    def _load_traffic(self, connector: Connector) -> Traffic:
        return self.Traffic(recent_traffic(connector, self.route.name))

    def on_deny_screen_traffic(self, message: Traffic) -> None:
        self.traffic = message.traffic
        if self.address is not None:
            self._prefill(self.address, message.traffic)
        self._update_warning()

    def _prefill(self, address: str, traffic: RouteTraffic) -> None:
        """The refused address, unless it is everyone: then the header client that got its 429s, or
        nothing (and the line under the form says why). Never over what the operator typed meanwhile."""
        if self._values() != self.initial:
            return
        why = traffic.everyone(DenyClient("ip", address))
        if why is None:
            client = f"ip={address}"
        else:
            client = traffic.identifying(address) or ""
            instead = f"prefilled {client}, who got its 429s" if client else "type the client to deny"
            self.note = f"{why} — {instead}"
        field = self.query_one("#deny-client", Input)
        field.value = client
        self.initial = self._values()  # the tool's proposal, not an edit of the operator's
        self.query_one("#deny-for" if client else "#deny-client", Input).focus()

    def on_descendant_focus(self) -> None:
        """Mark the focused field's label (``▸ For``): where typing goes is always in sight."""
        focused = self.focused
        for field, label in LABELS.items():
            mine = focused is not None and focused.id == field
            widget = self.query_one(f"#{field}-label", Static)
            widget.update(f"▸ {label}" if mine else label)
            widget.set_class(mine, "-focused")
        if isinstance(focused, Input):
            self._keys_note("")

    def on_key(self, event: events.Key) -> None:
        """A character typed while a button has focus is not typed anywhere: say so, never drop it
        silently (a burst sent across Tab reaches the buttons before the operator sees it)."""
        character = event.character
        if isinstance(self.focused, Button) and character is not None and character.isprintable():
            event.stop()
            self.lost += character  # a burst is said whole ("'2h' not typed"), not its last key
            self._keys_note(f"{self.lost!r} not typed: a button has focus — shift+tab back to the fields")

    def _keys_note(self, text: str) -> None:
        if not text:
            self.lost = ""
        note = self.query_one("#deny-keys", Static)
        note.update(Content(text))
        note.display = bool(text)  # no blank line in the dialog while there is nothing to say

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "deny-client":
            self._update_warning()
        self._check_fields()

    def _risks(self) -> list[tuple[DenyClient, str]]:
        """The typed address clients that would block (nearly) everyone, with why."""
        from connectors.model.deny import parse_client

        if self.traffic is None:
            return []
        try:
            client = parse_client(self.query_one("#deny-client", Input).value)
        except ValidationError:
            return []
        why = self.traffic.everyone(client)
        return [(client, why)] if why else []

    def _update_warning(self) -> None:
        lines = [f"⚠ {why}" for _client, why in self._risks()]
        value = self.query_one("#deny-client", Input).value
        if not lines and self.note and value == self.initial.get("deny-client"):
            lines.append(f"⚠ {self.note}")
        traffic = self.traffic
        if not lines and traffic is not None and traffic.problem and value.strip().lower().startswith("ip="):
            lines.append(f"could not tell whether this address is every client: {traffic.problem}")
        self._warn("\n".join(lines))

    def _warn(self, text: str) -> None:
        warning = self.query_one("#deny-warning", Static)
        warning.update(Content(text))
        warning.display = bool(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan":
            self.action_plan()
        else:
            self.action_close()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_plan()

    def _error(self, text: str) -> None:
        self.query_one("#deny-error", Static).update(Content(f"✖ {text}" if text else ""))

    def _read_fields(self) -> tuple[dict[str, str], Deny | None, float | None]:
        """Each field's problem (by field id), and the deny and time box the fields make when none."""
        from connectors.model.deny import deny_problems, parse_client, status_problem
        from connectors.timeboxes import parse_for

        values = {f: v.strip() for f, v in self._values().items()}
        problems: dict[str, str] = {}
        client: DenyClient | None = None
        try:
            client = parse_client(values["deny-client"])
        except ValidationError as exc:
            problems["deny-client"] = "client: " + "; ".join(p.message for p in exc.problems)
        text = values["deny-status"] or "403"
        status = int(text) if text.isascii() and text.isdigit() else None
        why = status_problem(status) if status is not None else None
        if status is None or why is not None:
            problems["deny-status"] = (
                f"status: {why or f'expected an HTTP error status such as 403, got {text!r}'}"
            )
        seconds = None
        try:
            seconds = parse_for(values["deny-for"]) if values["deny-for"] else None
        except ValueError as exc:
            problems["deny-for"] = f"for: {exc}"
        if seconds is not None and not self._can_time_box():
            problems["deny-for"] = "for: this gateway cannot revert a change by itself later; leave For empty"
        if problems or client is None or status is None:
            return problems, None, seconds
        current = self.route.deny.clients if self.route.deny else ()
        deny = Deny(tuple(dict.fromkeys([*current, client])), status)
        if found := deny_problems(deny, "deny"):  # e.g. too many clients on the route
            problems["deny-client"] = "; ".join(str(p) for p in found)
        return problems, (None if problems else deny), seconds

    def _can_time_box(self) -> bool:
        from connectors.change import Change

        connector = self.console.connector
        return connector is None or Change(connector).can_time_box  # no I/O

    def _check_fields(self, *, all_shown: bool = False) -> dict[str, str]:
        """Show each field's problem under it and keep Review disabled while there is one. An empty
        client is not called a mistake before it was typed in (or Review pressed)."""
        problems, _deny, _seconds = self._read_fields()
        untouched = self._values()["deny-client"] == self.initial.get("deny-client", "")
        for field in FIELDS:
            quiet = field == "deny-client" and untouched and not all_shown
            message = problems.get(field)
            self.query_one(f"#{field}-error", FieldError).show([message] if message and not quiet else [])
        self.query_one("#plan", Button).disabled = self.busy or bool(problems)
        return problems

    def _edited(self) -> tuple[Route, float | None] | None:
        """The route with the client added, and the time box; None (said under the fields) when bad."""
        if self._check_fields(all_shown=True):
            return None
        _problems, deny, seconds = self._read_fields()
        self._error("")
        return (replace(self.route, deny=deny), seconds) if deny is not None else None

    def action_plan(self) -> None:
        connector = self.console.connector
        why = refusal(self.console, "deny")
        if why:
            self._error(why)
            return
        edited = self._edited()
        if self.busy or edited is None or connector is None:
            return
        asked = [(c, why) for c, why in self._risks() if c not in self.confirmed]
        if asked:
            self._ask_everyone(*asked[0])
            return
        self.busy = True
        self._check_fields()  # Review disabled while planning
        self._plan(connector, edited[0], edited[1])

    def _ask_everyone(self, client: DenyClient, why: str) -> None:
        """Denying everyone is never one stray key: the operator says yes to it first."""
        from .confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.confirmed.add(client)
                self.action_plan()

        question = ConfirmScreen(
            f"Deny {client} on route {self.route.name}?", [why], yes="Deny it anyway", no="Keep editing"
        )
        self.app.push_screen(question, answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan", name="plan")
    def _plan(self, connector: Connector, edited: Route, seconds: float | None) -> Planned:
        plan = plan_edit(connector, "deny", self.route, edited)
        # The recent requests read again: the diff warns about an address that is everyone now.
        everyone = deny_warnings(recent_traffic(connector, self.route.name), self.route.deny, edited.deny)
        return self.Planned(replace(plan, warnings=(*plan.warnings, *everyone)), seconds)

    def on_deny_screen_planned(self, message: Planned) -> None:
        from .diff import DiffScreen

        self.busy = False
        self._check_fields()
        duration = self.query_one("#deny-for", Input).value.strip() if message.seconds else ""

        def applied(result: ApplyResult | None) -> None:
            if result is not None:
                self.console.refresh_now()
                self.dismiss(result)

        diff = DiffScreen(message.plan, heading="Review the deny", revert_after=duration)
        self.app.push_screen(diff, applied)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        title, text = error_text(error)
        if name == "traffic":
            self.traffic = RouteTraffic(self.route.name, 0.0, "", problem=text)
            if self.address is not None:  # unknown: offered, with what could not be checked
                self._prefill(self.address, self.traffic)
            self._update_warning()
            return True
        self.busy = False
        self._check_fields()
        self._error(f"{title}: {text}")
        return isinstance(error, GatewayError)


class DenyActions:
    """``b`` on a view: deny the refused client selected in triage, or a client of the shown route."""

    def action_deny_client(self) -> None:
        from textual.widgets import DataTable

        screen: Any = self
        name = getattr(screen, "route", None)
        if not isinstance(name, str):
            # Triage before its first reading has no route yet; only the routes view selects one.
            selected = getattr(screen, "selected_route", None)
            name = selected() if callable(selected) else None
        route = next((r for r in screen.console.routes if r.name == name), None)
        if route is None:
            screen.notify("Select a route first.", severity="warning", timeout=3)
            return
        client: str | None = ""
        address: str | None = None
        clients = screen.query("#clients")
        table = clients.first() if clients else None
        if isinstance(table, DataTable) and table.row_count:
            shown = str(table.get_row_at(table.cursor_row)[0])
            by = getattr(screen, "clients_by", "source")
            client = shown if by == CLIENT else client_text(by, shown)
            if by == "source" or (by == CLIENT and shown.startswith("ip=")):
                # An address is checked against the route's traffic before it is prefilled.
                client, address = "", shown.removeprefix("ip=")
            elif client is None:
                screen.notify(f"{shown} is not shown whole (a credential): type the client", timeout=4)
        screen.app.push_screen(DenyScreen(route, client or "", address=address))
