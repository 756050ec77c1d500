"""A yes/no question before an action that is hard to take back (quit, discard an edit, promote).

``y`` does it, ``n`` or ``esc`` does not; focus starts on the safe answer, so a stray ``enter``
changes nothing. Dismissed with True (do it) or False. The whole text always shows: each detail
wraps under its bullet, and details longer than the terminal scroll between the question and the
answers, which stay on screen (100x30 included).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from .base import ConsoleModal


class ConfirmScreen(ConsoleModal):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen #question { text-style: bold; color: $text-warning; padding: 0 0 1 0; }
    ConfirmScreen #details { height: auto; }
    ConfirmScreen.-short > Vertical { height: 100%; }
    ConfirmScreen.-short #details { height: 1fr; }
    ConfirmScreen .detail { height: auto; }
    ConfirmScreen .bullet { width: 2; }
    ConfirmScreen .text { width: 1fr; height: auto; }
    ConfirmScreen #buttons { height: auto; padding: 1 0 0 0; }
    ConfirmScreen #buttons Button { margin: 0 2 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", key_display="n/esc", id="confirm.no"),
    ]

    def __init__(self, question: str, details: list[str], *, yes: str, no: str) -> None:
        super().__init__()
        self.question = question
        self.details = details
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content(self.question), id="question")
            with VerticalScroll(id="details"):
                for detail in self.details:
                    with Horizontal(classes="detail"):
                        yield Static("•", classes="bullet")
                        yield Static(Content(detail), classes="text")  # text, never markup
            with Horizontal(id="buttons"):
                yield Button(f"{self.no} (n/esc)", id="no", variant="primary")
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Too tall for the terminal: the details scroll, the question and the answers stay."""
        dialog, details = self.query_one("#dialog"), self.query_one("#details", VerticalScroll)
        rest = sum(child.outer_size.height for child in dialog.children if child is not details)
        natural = details.virtual_size.height + rest + dialog.gutter.height
        self.set_class(natural > self.size.height, "-short")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_close(self) -> None:
        self.dismiss(False)
