"""The diff's time box: "Revert after [15m]", checked as it is typed, and the promise it makes
("reverts by itself at 14:32:05 (in 15m)"). Hidden until the diff's time-box key opens it.

The length is read as ``--for`` reads it (``connectors.timeboxes.parse_for``: a duration in the
future, at most 7 days); a problem is one line naming the field, and the diff refuses to apply
while there is one. Empty means no time box.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from .unchanged import update_static

FIELD = "revert after"


class TimeBoxField(Vertical):
    """The time-box row of the diff. ``seconds`` is the valid length (None: no time box) and
    ``problem`` why the typed text is not one ('' when it is fine or empty)."""

    DEFAULT_CSS = """
    TimeBoxField { height: auto; display: none; padding: 1 0 0 0; }
    TimeBoxField.-shown { display: block; }
    TimeBoxField #timebox-row { height: auto; }
    TimeBoxField #timebox-row.-done { display: none; }
    TimeBoxField #timebox-label { width: auto; padding: 1 1 0 0; text-style: bold; }
    TimeBoxField Input { width: 24; }
    TimeBoxField #timebox-hint { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    TimeBoxField #timebox-error { color: $text-error; height: auto; }
    TimeBoxField #timebox-promise { color: $text-warning; height: auto; }
    """

    class Set(Message):
        """The operator pressed enter on a valid length (or on an empty field: no time box)."""

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = text
        self.seconds: float | None = None
        self.problem = ""
        self.frozen = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="timebox-row"):
            yield Static("Revert after:", id="timebox-label")
            yield Input(self.text, placeholder="e.g. 15m", id="timebox-for")
            yield Static("at most 7d · empty: no time box", id="timebox-hint")
        yield Static("", id="timebox-error")
        yield Static("", id="timebox-promise")

    def on_mount(self) -> None:
        self.set_interval(1, self._tick)  # the promised clock time moves on while the diff is read
        if self.text:  # given by the caller (the deny dialog's "For"): shown as set
            self.check(self.text)
            self.set_class(self.seconds is not None, "-shown")
            self.query_one("#timebox-row").set_class(self.seconds is not None, "-done")

    @property
    def input(self) -> Input:
        return self.query_one("#timebox-for", Input)

    def open(self) -> None:
        """Show the field and put the cursor in it."""
        self.add_class("-shown")
        self.query_one("#timebox-row").remove_class("-done")
        self.input.focus()

    def close(self) -> None:
        """No time box after all."""
        self.input.value = ""
        self.check("")
        self.remove_class("-shown")

    def check(self, text: str) -> None:
        """Read ``text`` as the length; show its problem or its promise."""
        from connectors.timeboxes import parse_for

        self.seconds, self.problem = None, ""
        if text.strip():
            try:
                self.seconds = parse_for(text.strip())
            except ValueError as exc:
                self.problem = f"{FIELD}: {exc}"
        error = f"✖ {self.problem}" if self.problem else ""
        update_static(self.query_one("#timebox-error", Static), Content(error))
        self.show_promise(time.time())

    def show_promise(self, start: float) -> None:
        """The promise from ``start`` (now before applying, the change's own time after)."""
        from connectors.timeboxes import promise

        line = f"Time box: {promise(start, self.seconds)}" if self.seconds is not None else ""
        update_static(self.query_one("#timebox-promise", Static), Content(line))

    def _tick(self) -> None:
        if not self.frozen and self.seconds is not None:
            self.show_promise(time.time())

    def freeze(self) -> None:
        """Applying: the length can no longer change."""
        self.frozen = True
        self.input.disabled = True
        self.query_one("#timebox-row").add_class("-done")

    @on(Input.Changed, "#timebox-for")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check(event.value)

    @on(Input.Submitted, "#timebox-for")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.check(event.value)
        if self.problem:
            return
        if self.seconds is None:
            self.remove_class("-shown")
        else:
            self.query_one("#timebox-row").add_class("-done")
        self.post_message(self.Set())
