"""A canary run left by a console (or a ``canary`` command) that died: found when the console attaches
to a gateway, said where it was left, and offered to resume or abort.

``check_left_over(app)`` reads the gateway's canary state files (``CanaryStateStore.left_over``) in
a worker; for each run found, ``LeftOverCanary`` says where it was left (step, weight, last message)
and offers Resume (``r``: the canary view carries the run on from its step), Abort (``a``: the
canary view sends all traffic back to stable, through the usual change path) or Later (``esc``:
the file stays, the next start asks again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, RichLog, Static

from ..host import console_of
from ..widgets.canary_plan import CanaryPlanForm, default_draft
from .base import ConsoleModal

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from connectors.canary import CanaryEvent, CanaryRun
    from connectors.canary_state import CanaryState
    from connectors.model import Route


class LeftOverCanary(ConsoleModal):
    """Where a dead process left a canary; dismissed with "resume", "abort" or None (later)."""

    DEFAULT_CSS = """
    LeftOverCanary { align: center middle; }
    LeftOverCanary #dialog { width: 90; max-width: 100%; height: auto; border: thick $warning;
        background: $surface; padding: 1 2; }
    LeftOverCanary #heading { text-style: bold; color: $text-warning; padding: 0 0 1 0; }
    LeftOverCanary #buttons { height: auto; padding: 1 0 0 0; }
    LeftOverCanary #buttons Button { margin: 0 2 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Later", id="dialog.close"),
        Binding("r", "choose('resume')", "Resume", id="canary.left_resume"),
        Binding("a", "choose('abort')", "Abort", id="canary.left_abort"),
    ]

    def __init__(self, state: CanaryState, served: str = "") -> None:
        """``served``: the weights the gateway serves now ("50/50 (v1/v2)"), read by the caller."""
        super().__init__()
        self.state = state
        self.served = served

    def compose(self) -> ComposeResult:
        s = self.state
        with Vertical(id="dialog"):
            yield Static(f"A canary on route {s.route} was left unfinished", id="heading")
            yield Static(s.describe() + ".", id="where", markup=False)
            yield Static(
                f"Resume carries it on from that step with its plan; abort sends all traffic on "
                f"{s.route} back to {s.stable}. Later leaves it"
                + (f" (route {s.route} serves {self.served} now)." if self.served else "."),
                id="choices",
                markup=False,
            )
            with Horizontal(id="buttons"):
                yield Button("Resume (r)", id="resume", variant="warning")
                yield Button("Abort (a)", id="abort", variant="error")
                yield Button("Later (esc)", id="later")

    def on_mount(self) -> None:
        self.query_one("#later", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id in ("resume", "abort") else None)

    def action_choose(self, what: str) -> None:
        self.dismiss(what)


def show_left_over(screen: Screen[Any], state: CanaryState) -> None:
    """The left-over run's plan in the canary view's form, and where it was left in its log."""
    from connectors.canary import CanaryPlan

    plan = CanaryPlan.from_json(state.plan)
    screen.query_one(CanaryPlanForm).restore(default_draft(plan))
    screen.query_one("#log", RichLog).write(Content.assemble(("left over ", "bold"), state.describe()))


def resumed_run(
    connector: Any, source: Any, state: CanaryState, on_event: Callable[[CanaryEvent], None]
) -> CanaryRun:
    """Blocking (it reads the gateway): the run carried on from the step it was left at."""
    from connectors.canary import CanaryPlan, CanaryRun

    plan = CanaryPlan.from_json(state.plan)
    return CanaryRun(
        connector, source, state.route, state.stable, state.canary, plan, on_event=on_event, resume_from=state
    )


def served_now(connector: Any, route: str) -> str:
    """Blocking: the route's weights as the gateway serves them now, "50/50 (v1/v2)"."""
    try:
        return served_text(connector.get_route(route))
    except Exception:  # a route gone or a gateway not answering: the dialog says less, never wrong
        return ""


def served_text(route: Route | None) -> str:
    """The route's weights as shares, "50/50 (v1/v2)"; "" when not known."""
    if route is None:
        return ""
    backends = route.backends
    total = sum(b.weight for b in backends) or 1
    shares = "/".join(str(round(100 * b.weight / total)) for b in backends)
    return f"{shares} ({'/'.join(b.name for b in backends)})"


def check_left_over(app: App[Any], gateway: str, connector: Any) -> None:
    """Look for runs of ``gateway`` left by dead processes (a worker: it reads files), and ask about
    each on the UI thread."""

    def ask(state: CanaryState, served: str) -> None:
        def answered(what: str | None) -> None:
            if what in ("resume", "abort"):  # the canary view carries it on, or aborts it
                console_of(app).open_optional("canary", connector, state.route, state, what)

        app.push_screen(LeftOverCanary(state, served), answered)

    def find() -> None:
        from connectors.canary_state import CanaryStateStore

        for state in CanaryStateStore(gateway).left_over():
            app.call_from_thread(ask, state, served_now(connector, state.route))

    app.run_worker(find, thread=True, exit_on_error=False, group="canary-left", name="canary-left")
