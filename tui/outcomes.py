"""The one place worker outcomes are handled: results go to the screen, failures to the operator.

Every screen and the app mix in ``WorkerOutcomes``. A worker that succeeds calls
``worker_succeeded(name, result)``; one that fails calls ``worker_failed(name, error)`` and, unless
that returns True, the error is shown: a GatewayError as a toast with its title and message, anything
else as an error modal. Never a traceback on screen (it goes to the Textual log).
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from textual.worker import Worker, WorkerState

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
    from .screens.error import ErrorScreen

    app.push_screen(ErrorScreen(title, message))


class WorkerOutcomes(_Base):
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state == WorkerState.SUCCESS:
            self.worker_succeeded(worker.name, worker.result)
        elif (
            event.state == WorkerState.ERROR
            and worker.error is not None
            and not self.worker_failed(worker.name, worker.error)
        ):
            report_error(self.app, worker.error)

    def worker_succeeded(self, name: str, result: Any) -> None:
        """A worker of this node finished; ``name`` says which."""

    def worker_failed(self, name: str, error: BaseException) -> bool:
        """A worker of this node failed. Return True when the error is already shown."""
        return False
