"""A route's fault injection: a fixed delay and/or an abort, each on a share of the requests; or none.

An empty delay (or abort status) means no delay (no abort). A gRPC abort read from the cluster is
kept while the status field stays empty and the share is edited.
"""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from connectors.errors import Problem
from connectors.model import Fault, Route
from connectors.model.durations import format_duration, parse_duration
from connectors.model.fault import fault_problems

from ..widgets.choice import Choice
from ..widgets.form_input import FormInput
from .edit_base import EditorScreen, FieldError

FIELDS = ("delay", "delay_percent", "abort_status", "abort_percent")
HINTS = {
    "delay": ("Delay", "e.g. 200ms; empty: no delay"),
    "delay_percent": ("Delay %", "share of requests delayed, 0-100"),
    "abort_status": ("Abort with", "HTTP status 200-599, e.g. 503; empty: no abort"),
    "abort_percent": ("Abort %", "share of requests aborted, 0-100"),
}


class FaultEditor(EditorScreen):
    KIND = "fault"
    VIEW = "edit fault"
    DEFAULT_CSS = """
    FaultEditor Input { width: 20; }
    FaultEditor RadioSet { margin: 0 0 1 0; }
    FaultEditor .hint-inline { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    """

    def compose_form(self) -> ComposeResult:
        with RadioSet(id="mode"):
            yield Choice("Inject faults", id="mode-on")  # chosen shows without colour
            yield Choice("No fault injection (remove it)", id="mode-none")
        for name in FIELDS:
            label, hint = HINTS[name]
            with Horizontal(classes="row"):
                yield Label(label, classes="label")
                yield FormInput(id=name.replace("_", "-"))
                yield Static(hint, classes="hint-inline")
            yield FieldError(id=f"error-{name}")

    def _input(self, name: str) -> Input:
        return self.query_one(f"#{name.replace('_', '-')}", Input)

    def load(self, route: Route) -> None:
        f = route.fault
        self.query_one("#mode-none" if f is None else "#mode-on", RadioButton).value = True
        self._input("delay").value = format_duration(f.delay) if f and f.delay is not None else ""
        self._input("delay_percent").value = f"{f.delay_percent:g}" if f and f.delay is not None else "100"
        self._input("abort_status").value = str(f.abort_status) if f and f.abort_status is not None else ""
        aborts = f is not None and (f.abort_status is not None or f.abort_grpc is not None)
        self._input("abort_percent").value = f"{f.abort_percent:g}" if f and aborts else "100"

    def _removing(self) -> bool:
        pressed = self.query_one("#mode", RadioSet).pressed_button
        return pressed is not None and pressed.id == "mode-none"

    def build(self) -> tuple[Route | None, list[Problem]]:
        removing = self._removing()
        for name in FIELDS:
            self._input(name).disabled = removing
        if removing:
            return replace(self.original, fault=None), []
        values = {name: self._input(name).value.strip() for name in FIELDS}
        problems: list[Problem] = []
        delay, status = None, None
        shares = {"delay_percent": 100.0, "abort_percent": 100.0}
        if values["delay"]:
            try:
                delay = parse_duration(values["delay"])
            except ValueError as exc:
                problems.append(Problem("route.fault.delay", str(exc)))
        if values["abort_status"]:
            if values["abort_status"].isdigit():
                status = int(values["abort_status"])
            else:
                problems.append(Problem("route.fault.abort_status", "an HTTP status, e.g. 503 (or empty)"))
        for name in shares:
            try:
                shares[name] = float(values[name].removesuffix("%") or "100")
            except ValueError:
                problems.append(Problem(f"route.fault.{name}", "a percentage from 0 to 100"))
        if problems:
            return None, problems
        kept = self.original.fault.abort_grpc if self.original.fault and status is None else None
        fault = Fault(delay, shares["delay_percent"], status, kept, shares["abort_percent"])
        if fault == Fault(None, shares["delay_percent"], None, None, shares["abort_percent"]):
            return None, [
                Problem("route.fault", "give a delay or an abort status, or choose no fault injection")
            ]
        normal = replace(
            fault,
            delay_percent=fault.delay_percent if delay is not None else 100.0,
            abort_percent=fault.abort_percent if status is not None or kept is not None else 100.0,
        )
        return replace(self.original, fault=normal), fault_problems(normal, "route.fault")

    def field_for(self, path: str) -> str:
        for name in FIELDS:
            if path.endswith(f"fault.{name}"):
                return f"error-{name}"
        return "error-general"

    def describe(self, route: Route) -> str:
        return route.fault.describe() if route.fault else "no fault injection"

    def on_input_changed(self, event: Input.Changed) -> None:
        self.revalidate()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.revalidate()
