"""Review a plan, then apply it: the model diff and the native diff, warnings, confirm, progress, result.

Nothing reaches the gateway before this screen's confirm. The apply runs in a worker (the connector
writes, then verifies); the dialog then shows the verification and the time taken, or the gateway's
own reason for refusing (the running config is left as it was). Once applied it offers Done and Undo
(through the undo's own diff), never Apply again. Dismissed with the ApplyResult on success, None
otherwise.

``t`` time-boxes any change (where the gateway keeps time boxes): "revert after 15m" is checked as
typed and shown as the promise; applying refuses a bad box before writing anything, then schedules
the revert through the same pipeline (``Change.revert_later``), which ``:timeboxes`` counts down.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, LoadingIndicator, Static, TabbedContent, TabPane

from connectors.base import ApplyResult, Connector, Plan
from connectors.change import Change
from connectors.errors import ChangeConflict, ChangeRejected, GatewayError
from connectors.model import Route

from ..highlight import highlight_diff
from ..outcomes import error_text
from ..widgets.split_panel import SplitPanel
from ..widgets.time_box import TimeBoxField
from .base import ConsoleModal
from .result_lines import changed_details


def _weights(route: Route) -> tuple[tuple[str, int], ...]:
    return tuple((b.name, b.weight) for b in route.backends)


class DiffScreen(ConsoleModal):
    VIEW = "review the change"
    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen #dialog {
        width: 110; max-width: 100%; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    DiffScreen #heading { text-style: bold; color: $text-primary; }
    DiffScreen #description { color: $text; padding: 0 0 1 0; }
    DiffScreen #warnings { color: $text-warning; display: none; padding: 0 0 1 0; }
    DiffScreen #warnings.-shown { display: block; }
    DiffScreen TabbedContent { height: 1fr; }
    DiffScreen TabPane { padding: 0; }
    DiffScreen VerticalScroll { height: 1fr; }
    DiffScreen #progress { height: 3; display: none; }
    DiffScreen #progress.-shown { display: block; }
    DiffScreen #outcome { height: auto; max-height: 12; display: none; padding: 1 0 0 0; }
    DiffScreen #outcome.-shown { display: block; }
    DiffScreen SplitPanel { padding: 1 0 0 0; }
    DiffScreen #buttons { height: auto; padding: 1 0 0 0; }
    DiffScreen #buttons Button { margin: 0 2 0 0; }
    DiffScreen #buttons Button.-after { display: none; }
    DiffScreen #buttons Button.-after.-shown { display: block; }
    DiffScreen #buttons Button.-gone { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="dialog.close"),
        Binding("a,ctrl+s", "confirm", "Apply", id="diff.apply"),
        Binding("x", "export", "Export", id="diff.export"),
        Binding("t", "time_box", "Time box (revert after…)", id="diff.time_box"),
        Binding("u", "undo", "Undo", id="diff.undo"),
    ]

    class Applied(Message, bubble=False):
        """The plan is applied (and verified, or not yet in effect: see its verification)."""

        def __init__(self, result: ApplyResult, time_box: Content | None = None) -> None:
            super().__init__()
            self.result = result
            self.time_box = time_box  # what became of the time box, when one was asked for

    class UndoPlanned(Message, bubble=False):
        """The plan that undoes the change just applied."""

        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    class Exported(Message, bubble=False):
        """The plan is written for review as files; nothing applied."""

        def __init__(self, paths: list[Path]) -> None:
            super().__init__()
            self.paths = paths

    def __init__(
        self, plan: Plan, *, heading: str = "Review the change", apply: bool = True, revert_after: str = ""
    ) -> None:
        super().__init__()
        self.plan = plan
        self.revert_after = revert_after  # a time box chosen before the diff (the deny dialog's)
        self.heading = heading
        self.can_apply = apply and not plan.is_empty
        self.state = "review"  # review -> applying -> done
        self.result: ApplyResult | None = None
        self.can_export = False  # known once mounted: from the capabilities read when connecting
        self.can_time_box = False  # known once mounted: whether the gateway keeps time boxes
        self.undone = False
        self._outcome_text = Content("")

    def compose(self) -> ComposeResult:
        plan = self.plan
        self.can_export = not plan.is_empty and self.console.capabilities.can_export
        connector = self.console.connector
        self.can_time_box = self.can_apply and connector is not None and Change(connector).can_time_box
        with Vertical(id="dialog"):
            yield Static(self.heading, id="heading")
            description = (
                plan.description if not plan.is_empty else "No change: the gateway already has this."
            )
            yield Static(Content(description), id="description")
            yield Static(
                Content("\n".join(f"⚠ {w}" for w in plan.warnings)),
                id="warnings",
                classes="-shown" if plan.warnings else "",
            )
            with TabbedContent(id="tabs"):
                with TabPane("Model diff", id="model"), VerticalScroll():
                    yield Static(highlight_diff(plan.model_diff), id="model-diff")
                with TabPane(f"Native objects ({len(plan.native_changes)})", id="native"), VerticalScroll():
                    yield Static(self._native(), id="native-diff")
            yield TimeBoxField(self.revert_after if self.can_time_box else "", id="timebox")
            yield LoadingIndicator(id="progress")
            yield Static("", id="outcome")
            with Horizontal(id="buttons"):
                yield Button("Apply (a)", id="confirm", variant="warning", disabled=not self.can_apply)
                if self.can_export:
                    yield Button("Export for review (x)", id="export")
                if self.can_time_box:
                    yield Button("Time box… (t)", id="timebox-button")
                yield Button("Undo (u)", id="undo", classes="-after")
                yield Button("Cancel (esc)", id="cancel")

    def _native(self) -> Content:
        if not self.plan.native_changes:
            return Content.styled("(no native objects change)", "$text-muted")
        parts = []
        for change in self.plan.native_changes:
            parts.append(Content.styled(f"── {change.label}", "bold $text-accent"))
            parts.append(highlight_diff(change.diff))
        return Content("\n").join(parts)

    def on_mount(self) -> None:
        button = self.query_one("#confirm", Button)
        if self.can_apply:
            button.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self.action_confirm()
        elif event.button.id == "export":
            self.action_export()
        elif event.button.id == "timebox-button":
            self.action_time_box()
        elif event.button.id == "undo":
            self.action_undo()
        else:
            self.action_close()

    def action_close(self) -> None:
        box = self.query_one(TimeBoxField)
        if self.state == "review" and box.input.has_focus:
            box.close()  # esc while typing a time box: no time box, the diff stays
            self.query_one("#confirm", Button).focus()
            return
        if self.state != "applying":
            self.dismiss(self.result)

    def action_time_box(self) -> None:
        if self.state == "review" and self.can_time_box:
            self.query_one(TimeBoxField).open()

    def on_time_box_field_set(self, message: TimeBoxField.Set) -> None:
        self.query_one("#confirm", Button).focus()

    def action_confirm(self) -> None:
        if self.state != "review" or not self.can_apply:
            return
        connector = self.console.connector
        if connector is None:
            self.notify("Not connected to a gateway.", severity="error")
            return
        box = self.query_one(TimeBoxField)
        if box.problem:  # said on its line under the field; nothing is applied
            box.open()
            return
        box.freeze()
        self.state = "applying"
        self.query_one("#confirm", Button).disabled = True
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#progress").add_class("-shown")
        self._outcome(Content.styled("Applying, then verifying that the gateway serves it…", "$text-muted"))
        self._apply(connector, self.plan, box.seconds)

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply", name="apply", description="apply")
    def _apply(self, connector: Connector, plan: Plan, seconds: float | None) -> Applied:
        change = Change(connector)
        if seconds is None:
            return self.Applied(change.apply(plan))
        change.require_reverts(plan, seconds)  # a box that cannot be kept refuses before any write
        result = change.apply(plan)
        return self.Applied(result, time_box(change, result, seconds))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return self.can_export and self.state == "review"
        if action == "time_box":
            return self.can_time_box and self.state == "review"
        if action == "confirm":
            return self.state == "review" and self.can_apply
        if action == "undo":
            return self.can_undo
        return True

    @property
    def can_undo(self) -> bool:
        """Applied, not an undo itself, and not undone yet."""
        return self.result is not None and self.plan.undoes is None and not self.undone

    def action_undo(self) -> None:
        """Undo what was just applied, through the undo's own diff (u there applies nothing yet)."""
        connector = self.console.connector
        if not self.can_undo or connector is None:
            return
        self._outcome_line(Content.styled("Planning the undo…", "$text-muted"))
        self._plan_undo(connector)

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply", name="plan-undo")
    def _plan_undo(self, connector: Connector) -> UndoPlanned:
        return self.UndoPlanned(Change(connector).plan_undo())

    def on_diff_screen_undo_planned(self, message: UndoPlanned) -> None:
        applied = self.result.entry.id if self.result is not None else None
        if message.plan.undoes != applied:  # a later change came first: u would undo that one
            self._outcome_line(
                Content.styled(
                    f"✖ Not undone: change {message.plan.undoes} came after this one; undo it from history",
                    "$text-error",
                )
            )
            return

        def undone(result: ApplyResult | None) -> None:
            if result is not None:
                self.undone = True
                self.query_one("#undo", Button).remove_class("-shown")
                self.query_one("#cancel", Button).focus()
                self._outcome_line(Content.styled(f"↶ undone by change {result.entry.id}", "bold"))

        heading = f"Undo the change just applied ({applied})"
        self.app.push_screen(DiffScreen(message.plan, heading=heading), undone)

    def _outcome_line(self, line: Content) -> None:
        """Show ``line`` under the outcome (replacing the previous such line)."""
        outcome = self.query_one("#outcome", Static)
        outcome.update(Content("\n").join([self._outcome_text, line]))

    def action_export(self) -> None:
        """Write the planned objects as kubectl-applyable YAML (GitOps review) instead of applying."""
        connector = self.console.connector
        if self.state != "review" or not self.can_export or connector is None:
            return
        target = Path.cwd() / "gatewayctl-export" / time.strftime("%Y%m%d-%H%M%S")
        self._outcome(Content.styled(f"Exporting to {target}…", "$text-muted"))
        self._export(connector, self.plan, target)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="apply", name="export", description="export"
    )
    def _export(self, connector: Connector, plan: Plan, target: Path) -> Exported:
        return self.Exported(Change(connector).export(plan, target))

    def _outcome(self, content: Content) -> None:
        outcome = self.query_one("#outcome", Static)
        self._outcome_text = content
        outcome.update(content)
        outcome.add_class("-shown")

    def _finish(self, applied: bool = False) -> None:
        """The apply is over: nothing to apply (or time-box) again. Applied: Done, and Undo unless
        this was one."""
        self.state = "done"
        self.query_one("#progress").remove_class("-shown")
        for button in self.query("#confirm, #timebox-button"):
            button.add_class("-gone")
        cancel = self.query_one("#cancel", Button)
        cancel.label = "Done (esc)" if applied else "Close (esc)"
        cancel.disabled = False
        self.query_one("#undo", Button).set_class(applied and self.can_undo, "-shown")
        cancel.focus()
        self.refresh_bindings()

    def on_diff_screen_exported(self, message: Exported) -> None:
        paths = "\n".join(f"  • {p}" for p in message.paths)
        self._outcome(
            Content.styled("✔ Exported for review (nothing applied):", "bold $text-success")
            + Content("\n" + paths)
        )
        self.notify(f"{len(message.paths)} file(s) written", title="Exported")

    def on_diff_screen_applied(self, message: Applied) -> None:
        result = self.result = message.result
        verification = result.verification
        details = "\n".join(f"  • {d}" for d in changed_details(verification.details, result.plan))
        if verification.ok and verification.confirmed == "written":
            head = Content.styled(
                f"● Applied in {result.seconds:.2f} s — not confirmed by a controller or proxy"
                + (f" ({verification.unconfirmed})" if verification.unconfirmed else ""),
                "bold $text-warning",
            )
        elif verification.ok:
            head = Content.styled(f"✔ Applied and verified in {result.seconds:.2f} s", "bold $text-success")
        else:
            head = Content.styled(
                f"⚠ Applied in {result.seconds:.2f} s, but the gateway does not show it in effect yet",
                "bold $text-warning",
            )
        lines = [head]
        if details:
            lines.append(Content(details))
        if message.time_box is not None:
            lines.append(message.time_box)
            self.query_one(TimeBoxField).remove_class("-shown")  # the outcome says what became of it
        lines.append(
            Content.styled(f"change {result.entry.id} recorded in history (u undoes it)", "$text-muted")
        )
        self._outcome(Content("\n").join(lines))
        self._show_splits(result)
        self._finish(applied=True)
        self.notify(result.plan.description, title="Applied" if verification.ok else "Applied, not verified")

    def _show_splits(self, result: ApplyResult) -> None:
        """After a change that moved weights: did the traffic follow? Counted live from this change."""
        outcome = self.query_one("#outcome", Static)
        for change in result.plan.changes:
            after = change.after
            if len(after.backends) > 1 and _weights(change.before) != _weights(after):
                self.mount(SplitPanel(after.name, compact=True, classes="split"), after=outcome)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name == "plan-undo":
            title, message = error_text(error)
            self._outcome_line(Content.styled(f"✖ {title}: {message}", "$text-error"))
            return isinstance(error, GatewayError)
        if name == "export":
            title, message = error_text(error)
            self._outcome(Content.styled(f"✖ {title}: {message}", "bold $text-error"))
            return isinstance(error, GatewayError)
        if name != "apply":
            return False
        title, message = error_text(error)
        lines = [Content.styled(f"✖ {title}", "bold $text-error"), Content(message)]
        if isinstance(error, ChangeRejected):
            lines.append(
                Content.styled(
                    "Nothing changed: the gateway keeps serving its previous config.", "$text-muted"
                )
            )
        elif isinstance(error, ChangeConflict):
            lines.append(
                Content.styled(
                    "Nothing was written. Close, then edit again from the current state.", "$text-muted"
                )
            )
        self._outcome(Content("\n").join(lines))
        self._finish()
        return isinstance(error, GatewayError)


def time_box(change: Change, result: ApplyResult, seconds: float) -> Content:
    """Schedule the revert of the applied ``result`` (in the apply worker) and say what became of it:
    the promise, with a warning when nothing would carry it out, or why it is NOT time-boxed."""
    from connectors.timeboxes import promise

    try:
        change.revert_later(result, seconds)
    except GatewayError as exc:
        return Content.styled(
            f"✖ NOT time-boxed: {exc}; the change stays until undone (u)", "bold $text-error"
        )
    line = Content.styled(
        f"● Time-boxed: {promise(result.entry.time, seconds)} through the same path (:timeboxes)",
        "bold $text-warning",
    )
    nobody = change.hooks.reverts.unattended()
    return line + Content.styled(f"\n  ⚠ {nobody}", "$text-warning") if nobody else line
