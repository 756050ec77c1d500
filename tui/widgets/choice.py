"""A radio button whose choice shows without colour.

Textual's RadioButton draws ``●`` on every option and tells the chosen one apart only by colour, so
with NO_COLOR or on a monochrome terminal every option looks chosen. Here only the chosen option has
the ``●``; the others are an empty box.
"""

from __future__ import annotations

from textual.widgets import RadioButton


class Choice(RadioButton):
    """A RadioButton that marks its state with a glyph, not only a colour."""

    BUTTON_INNER = " "  # not chosen (the value starts False)
    CHOSEN = "●"

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.CHOSEN if self.value else " "
        super().watch_value()  # the -on class and the Changed message the RadioSet follows
        self.refresh()
