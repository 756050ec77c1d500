"""The one place worker outcomes are handled: results come back as typed Messages, failures go to
the operator.

Blocking work runs in ``@work(thread=True, exit_on_error=False, ...)`` methods that return a Message
(``Polled``, ``DiffScreen.Applied``...). Every screen and the app mix in ``WorkerOutcomes``, whose
``Worker.StateChanged`` handler posts a finished worker's Message to its node, which handles it like
any other message; a worker cancelled meanwhile (replaced by an exclusive one) delivers nothing. A
failure goes to the node's ``worker_failed(name, error)``, which may show it in place, and unless
that returns True it is shown to the operator: a GatewayError as a toast with its title and message,
anything else as an error modal (``ErrorScreen``, here). Never a traceback on screen (it goes to the
Textual log).
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState, get_current_worker

from connectors.errors import GatewayError

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

    _Base = DOMNode
else:
    _Base = object


def error_text(error: BaseException) -> tuple[str, str]:
    """(title, message) for an error, with secrets removed."""
    from connectors.redact import redact_text  # loads the model: not before the first frame

    if isinstance(error, GatewayError):
        return error.title, redact_text(str(error) or error.title)
    return "Unexpected error", redact_text(f"{type(error).__name__}: {error}")


def report_error(app: App[Any], error: BaseException) -> None:
    title, message = error_text(error)
    if isinstance(error, GatewayError):
        app.notify(message, title=title, severity="error", timeout=10)
        return
    app.log.error("".join(traceback.format_exception(error)))
    app.push_screen(ErrorScreen(title, message))


class ErrorScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ErrorScreen { align: center middle; }
    ErrorScreen > Vertical {
        width: 70; height: auto; max-height: 80%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    ErrorScreen #title { text-style: bold; color: $text-error; }
    ErrorScreen #message { margin: 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "dismiss", "Close", id="error.close")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="title", markup=False)
            yield Static(self.message, id="message", markup=False)
            yield Button("Close", id="close", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss()


def superseded() -> bool:
    """In a worker: True when it was cancelled (an exclusive worker replaced it), so what it opened
    will never be delivered and is the worker's to close."""
    return get_current_worker().is_cancelled


class WorkerOutcomes(_Base):
    # A named handler, not @on: this mixin is not a MessagePump, so Textual's metaclass would not
    # collect an @on handler declared here.
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state == WorkerState.SUCCESS and isinstance(worker.result, Message):
            self.post_message(worker.result)
        elif (
            event.state == WorkerState.ERROR
            and worker.error is not None
            and not self.worker_failed(worker.name, worker.error)
        ):
            report_error(self.app, worker.error)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        """A worker of this node failed. Return True when the error is already shown."""
        return False
