"""What the weights, rate limit and CORS forms share: validation as you type, the apply flow, and
keeping the edit when the gateway goes away.

A form builds a candidate Route from its fields on every change (``build``), shows each problem
next to its field and keeps Apply disabled while there is any problem or no change. Apply plans the
edit in a worker (re-reading the route first, ``tui.editing.plan_edit``), shows the diff, and only the
diff's confirm applies it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from connectors.base import ApplyResult, Connector, EditKind, Plan
from connectors.change import FIELDS
from connectors.errors import ChangeConflict, ConnectionFailed, GatewayNotRunning, Problem, ValidationError
from connectors.model import Route

from ..editing import LABELS, plan_edit
from ..live import ConnectionState
from ..outcomes import error_text
from ..widgets.unchanged import update_static
from .base import ConsoleModal


class FieldError(Static):
    """The problem with one field, shown under it (empty when the field is fine)."""

    DEFAULT_CSS = """
    FieldError { color: $text-error; height: auto; padding: 0 0 0 1; display: none; }
    FieldError.-shown { display: block; }
    """

    def show(self, messages: Iterable[str]) -> None:
        text = "\n".join(f"✖ {m}" for m in messages)
        update_static(self, Content(text))  # messages quote what was typed: never markup
        self.set_class(bool(text), "-shown")


def ask_to_discard(form: ConsoleModal, details: list[str]) -> None:
    """Ask before a changed form is thrown away: ``y`` closes it, ``n``/``esc`` keeps the edit."""
    from .confirm import ConfirmScreen

    class DiscardQuestion(ConfirmScreen):
        """Keys typed right behind the answer (one tmux ``send-keys n BSpace 4``) reach this dialog
        in the order typed, before its binding would answer: so the answer is taken here, and every
        key after it is handed back to the app, for what has the focus once the dialog is gone."""

        answered = False

        def on_key(self, event: events.Key) -> None:
            answer = {"y": True, "n": False, "escape": False}.get(event.key)
            if not self.answered and answer is None:
                return
            event.stop()
            event.prevent_default()
            if self.answered:
                self.app.post_message(events.Key(event.key, event.character))
            else:
                self.answered = True
                self.dismiss(answer)

    def answered(discard: bool | None) -> None:
        if discard:
            form.dismiss(None)

    question = DiscardQuestion("Discard your edit?", details, yes="Discard", no="Keep editing")
    form.app.push_screen(question, answered)


class EditorScreen(ConsoleModal):
    KIND: ClassVar[EditKind]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="dialog.close"),
        Binding("ctrl+s", "apply", "Apply…", id="editor.apply"),
        Binding("ctrl+r", "reload", "Start over", show=False, id="editor.reload"),
    ]
    DEFAULT_CSS = """
    EditorScreen { align: center middle; }
    EditorScreen #dialog {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    EditorScreen #title { text-style: bold; color: $text-primary; padding: 0 0 1 0; }
    EditorScreen #banner { display: none; color: $text-warning; background: $warning-muted; padding: 0 1; }
    EditorScreen #banner.-shown { display: block; }
    EditorScreen #form { height: auto; }
    EditorScreen.-short #dialog { height: 100%; }
    EditorScreen.-short #form { height: 1fr; }
    EditorScreen #buttons { height: auto; padding: 1 0 0 0; }
    EditorScreen #buttons Button { margin: 0 2 0 0; }
    EditorScreen .row { height: auto; }
    EditorScreen .label { width: 16; padding: 1 1 0 0; text-style: bold; }
    EditorScreen .hint { color: $text-muted; }
    EditorScreen #status { height: auto; padding: 1 0 0 0; }
    EditorScreen #outside { display: none; height: auto; padding: 1 0 0 0; color: $text-warning; }
    EditorScreen #outside.-shown { display: block; }
    """

    class Planned(Message, bubble=False):
        """The edit, rebased onto the route as it is now and planned: ready to review."""

        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self, route: Route) -> None:
        super().__init__()
        self.original = route
        self.candidate: Route | None = route
        self.problems: list[Problem] = []
        self.busy = False
        self.outside: Route | None = None  # the route once its edited aspect changed outside the form
        self.replaced: Route | None = None  # what this form's apply replaced, until a refresh shows it gone

    # -- to implement ---------------------------------------------------------------------------

    def compose_form(self) -> ComposeResult:
        yield from ()

    def build(self) -> tuple[Route | None, list[Problem]]:
        """The edited route from the fields, and every problem with them (field path -> FieldError id)."""
        raise NotImplementedError

    def load(self, route: Route) -> None:
        """Fill the fields from ``route`` (on open and on ctrl+r)."""

    def describe(self, route: Route) -> str | None:
        """The edited aspect of ``route`` in a few words, for the line under the form (None: no line)."""
        return None

    def summary(self, route: Route | None) -> Content | str:
        """One line under the form describing the edit: ``now: …`` until the fields change the route,
        then what it was → what it becomes (each as ``describe`` puts it)."""
        was = self.describe(self.original)
        if was is None:
            return ""
        if self.problems:  # never preview a value the gateway would not take: name the field
            names = self.invalid_names(self.problems)
            invalid = Content.styled(f"({' and '.join(names)} invalid)", "$text-error")
            return Content.assemble(Content.styled(was, "$text-muted"), "  →  ", invalid)
        if route is None or route == self.original:
            # Once it changed outside, the value the form started from is no longer "now".
            said = "you started from" if self.outside is not None else "now"
            return Content.styled(f"{said}: {was}", "$text-muted")
        return Content.assemble(
            Content.styled(was, "$text-muted"), "  →  ", Content.styled(self.describe(route) or "", "bold")
        )

    def invalid_names(self, problems: list[Problem]) -> list[str]:
        """The invalid fields as the summary names them (``requests``): each problem's last path part."""
        return list(dict.fromkeys(p.path.rsplit(".", 1)[-1] for p in problems))

    # -- shared ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                Content.assemble(
                    Content.styled(f"Edit {LABELS[self.KIND]}", "bold"),
                    " — route ",
                    Content.styled(self.original.name, "bold $text-accent"),
                ),
                id="title",
            )
            yield Static("", id="banner")
            with VerticalScroll(id="form"):
                yield from self.compose_form()
            yield Static("", id="outside")
            yield Static("", id="status")
            yield FieldError(id="error-general")
            with Horizontal(id="buttons"):
                yield Button("Apply… (ctrl+s)", id="apply", variant="primary", disabled=True)
                yield from self.extra_buttons()
                yield Button("Cancel (esc)", id="cancel")

    def extra_buttons(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.load(self.original)
        self.watch(self.app, "connection", self._connection_changed)
        self.watch(self.app, "routes", self._check_outside, init=False)
        self.revalidate()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """On a short terminal the form scrolls between the title and the buttons, so Apply (and the
        rest of a long form) stays reachable; on a tall one the dialog is as high as its content."""
        dialog, form = self.query_one("#dialog"), self.query_one("#form", VerticalScroll)
        rest = sum(child.outer_size.height for child in dialog.children if child is not form)
        natural = form.virtual_size.height + rest + dialog.gutter.height
        self.set_class(natural > self.size.height, "-short")

    def revalidate(self) -> None:
        """Rebuild the candidate from the fields and show every problem next to its field."""
        self.candidate, self.problems = self.build()
        by_field: dict[str, list[str]] = {}
        for problem in self.problems:
            by_field.setdefault(self.field_for(problem.path), []).append(problem.message)
        for error in self.query(FieldError):
            error.show(by_field.get(error.id or "", []))
        update_static(self.query_one("#status", Static), self.summary(self.candidate))
        self._update_apply()

    def field_for(self, path: str) -> str:
        """The FieldError id that shows a problem at ``path`` (``error-general`` by default)."""
        return "error-general"

    @property
    def changed(self) -> bool:
        return self.candidate is not None and self.candidate != self.original

    def _update_apply(self) -> None:
        lost = self.console.connection.status == "lost"
        button = self.query_one("#apply", Button)
        button.disabled = self.busy or lost or bool(self.problems) or not self.changed
        button.tooltip = (
            "fix the fields marked ✖ first"
            if self.problems
            else "nothing changed yet"
            if not self.changed
            else "the gateway is unreachable"
            if lost
            else None
        )

    def _connection_changed(self, state: ConnectionState) -> None:
        banner = self.query_one("#banner", Static)
        if state.status == "lost":
            banner.update(
                Content(
                    f"The gateway is unreachable ({state.reason}). Your edit is kept here; "
                    "Apply becomes available when it answers again."
                )
            )
        banner.set_class(state.status == "lost", "-shown")
        self._update_apply()

    def _check_outside(self, routes: Iterable[Route] = ()) -> None:
        """At each refresh: has the aspect this form edits changed on the gateway since the form read
        it (the CLI, a colleague)? Then one line says to what and when, until ctrl+r starts from it."""
        if self.app.screen is not self:
            return  # the diff (or a question) is over the form: judged when it shows again
        current = next((r for r in routes if r.name == self.original.name), None)
        fields = FIELDS[self.KIND]

        def differs(a: Route, b: Route | None) -> bool:
            return b is None or any(getattr(a, f) != getattr(b, f) for f in fields)

        if current is not None and not differs(current, self.replaced):
            return  # a refresh read before this form's own apply landed: not someone else's change
        self.replaced = None if current is not None and not differs(current, self.original) else self.replaced
        if current is None or not differs(current, self.original):
            self._show_outside(None)
        elif differs(current, self.outside):
            self._show_outside(current)

    def on_screen_resume(self) -> None:
        self._check_outside(self.console.routes)

    def _show_outside(self, route: Route | None) -> None:
        line = self.query_one("#outside", Static)
        if route is None and self.outside is None:
            return
        self.outside = route
        if route is not None:
            what = self.describe(route)
            to = f" to {what}" if what is not None else ""
            line.update(
                Content.assemble(
                    f"{LABELS[self.KIND]} changed outside{to} at {time.strftime('%H:%M')}",
                    Content.styled(" — ctrl+r to start from it", "bold"),
                )
            )
        line.set_class(route is not None, "-shown")
        self.revalidate()  # the line under the form no longer calls the old value "now"
        self.call_after_refresh(self.fit)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        elif event.button.id == "cancel":
            self.action_close()

    @property
    def dirty(self) -> bool:
        """Something typed would be lost on closing: a change, or input that is not valid yet."""
        return self.candidate is None or self.candidate != self.original

    def quit_cost(self) -> str | None:
        """What quitting now would lose (the app asks before quitting when this is not None)."""
        if not self.dirty:
            return None
        return f"your unapplied {LABELS[self.KIND]} edit of route {self.original.name} is lost"

    def action_close(self) -> None:
        """Close; a changed form asks first, so a stray esc never throws an edit away."""
        if self.busy:
            return
        if not self.dirty:
            self.dismiss(None)
            return
        summary = self.summary(self.candidate)
        ask_to_discard(self, [f"{LABELS[self.KIND]} of route {self.original.name}: {summary}"])

    def action_reload(self) -> None:
        """Start over from the route as the gateway has it now."""
        current = next((r for r in self.console.routes if r.name == self.original.name), self.original)
        self.original = current
        self.load(current)
        self._show_outside(None)
        self.revalidate()
        self.notify("Form reset to the gateway's current values.", timeout=3)

    def action_apply(self) -> None:
        if self.busy:
            return
        if self.problems:
            self.notify(
                "\n".join(str(p.message) for p in self.problems), title="Fix these first", severity="error"
            )
            return
        if not self.changed or self.candidate is None:
            self.notify("Nothing changed yet.", severity="warning", timeout=3)
            return
        connector = self.console.connector
        if connector is None:
            self.notify("Not connected to a gateway.", severity="error")
            return
        self.busy = True
        self._update_apply()
        self.query_one("#status", Static).update(Content.styled("Planning…", "$text-muted"))
        self._plan(connector, self.KIND, self.original, self.candidate)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan", name="plan", description="plan")
    def _plan(self, connector: Connector, kind: EditKind, original: Route, candidate: Route) -> Planned:
        plan = plan_edit(connector, kind, original, candidate)
        return self.Planned(plan)

    def on_editor_screen_planned(self, message: Planned) -> None:
        from .diff import DiffScreen

        self.busy = False
        self.revalidate()
        self.app.push_screen(DiffScreen(message.plan), self._applied)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name != "plan":
            return False
        self.busy = False
        self.revalidate()
        title, message = error_text(error)
        if isinstance(error, ValidationError):
            # The gateway's own validation: show every problem in the form, keep the edit.
            self.query_one("#error-general", FieldError).show(str(p) for p in error.problems)
            return False
        if isinstance(error, ConnectionFailed | GatewayNotRunning):
            banner = self.query_one("#banner", Static)
            banner.update(
                Content(f"{title}: {message}. Your edit is kept; try Apply again when the gateway is back.")
            )
            banner.add_class("-shown")
        elif isinstance(error, ChangeConflict):
            self.query_one("#error-general", FieldError).show([message])
        return False

    def _applied(self, result: ApplyResult | None) -> None:
        if result is None:
            return  # cancelled, or refused: the form keeps the edit
        self.console.refresh_now()
        self.replaced = self.original
        self.after_apply(result)
        if self.is_attached:  # still open (CORS): its base is now the applied route
            self._check_outside(self.console.routes)

    def after_apply(self, result: ApplyResult) -> None:
        """Close the form once the change is applied (CORS stays open to probe it)."""
        self.dismiss(None)
