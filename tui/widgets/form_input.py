"""A form field that cannot surprise: focusing it selects its value, so typing replaces it ("50"
never becomes "1050"); every key it can hold is its own, so no shortcut fires while typing (``-`` in a
weight field is not "move 5 points"); a key it refuses is said (``Refused``), never silently dropped;
and ``?`` is never its own, so help answers in every form. For the number fields and the short token
fields (methods, headers, durations), where ``?`` is never valid.

``Tab`` / ``shift+tab`` are priority bindings here: the app moves the focus as the key arrives, in
the order typed, so keys typed right after (one tmux ``send-keys '10,50' Tab '45'``) reach the next
field instead of the one the app already forwarded them to (as ``:`` does for the prompt).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input
from textual.widgets.input import Selection

HELP_KEY = "?"
_IN_ORDER = {
    "backspace": "delete_left",
    "delete": "delete_right",
    "left": "cursor_left",
    "right": "cursor_right",
    "home": "home",
    "end": "end",
}
"""Editing keys the field carries out as they arrive, in order with the characters typed."""


class FormInput(Input):
    """An Input for numbers and tokens. ``allowed``: the characters it takes (others stay the
    screen's keys, e.g. the canary's ``s``/``a``/``p``); None: whatever its ``type``/``restrict``
    accept. ``?`` is never taken, so help works in every form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="form.next_field"),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Previous field",
            show=False,
            priority=True,
            id="form.previous_field",
        ),
    ]

    class Refused(Message):
        """A key the field takes (no shortcut fires) but its restriction refuses: say why."""

        def __init__(self, field: FormInput, character: str) -> None:
            super().__init__()
            self.field = field
            self.character = character

        @property
        def control(self) -> FormInput:
            return self.field

    def __init__(self, value: str = "", *, allowed: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("select_on_focus", True)
        if allowed is not None:
            kwargs.setdefault("restrict", "[" + "".join(re.escape(c) for c in allowed) + "]*")
        super().__init__(value, **kwargs)
        self.allowed = allowed
        self._given: Selection | None = None  # the selection the field made itself, not the operator
        self._typing: str | None = None  # the key being typed, for restricted()

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character is None or not character.isprintable() or character == HELP_KEY:
            return False
        return self.allowed is None or character in self.allowed

    def on_key(self, event: events.Key) -> None:
        # Keys it does not take fall through to the screen's bindings instead of being dropped.
        if event.character is not None and not self.check_consume_key(event.key, event.character):
            event.prevent_default()
        if (edit := _IN_ORDER.get(event.key)) is not None:
            # Input's own bindings run only once the key has bubbled up to the app, after the
            # characters typed behind it (``BSpace BSpace 4 0`` sent at once made ``-540``).
            event.stop()
            event.prevent_default()
            getattr(self, f"action_{edit}")()
            return
        self._typing = event.character  # runs before Input types it (a subclass handler goes first)

    def restricted(self) -> None:
        """Input refused the key just typed: tell the form, which says why under the field."""
        if self._typing:
            self.post_message(self.Refused(self, self._typing))
        self._typing = None

    def type_first(self, text: str) -> None:
        """Focus with ``text`` as the whole value and the cursor after it (a digit typed elsewhere
        that starts a new value)."""
        self.value = text
        self.selection = Selection.cursor(len(text))
        self.select_on_focus = False  # this once: the value is what is being typed
        self.screen.set_focus(self)  # at once: the next typed digit must find the field focused

    def on_focus(self) -> None:
        # Runs before Input's own focus handler, which selects exactly this.
        self._given = Selection(0, len(self.value)) if self.select_on_focus else None

    def on_blur(self) -> None:
        self.select_on_focus = True

    def select_all(self) -> None:
        """Select the value (after the form set it), so the next key replaces it."""
        self.selection = self._given = Selection(0, len(self.value))

    def action_copy(self) -> None:
        """ctrl+c copies text the operator selected. The value the field selected by itself (so that
        typing replaces it) is not such a selection: ctrl+c then goes on to quit, asking first."""
        if self.selection == self._given:
            raise SkipAction()
        super().action_copy()
