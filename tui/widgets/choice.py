"""A radio button and a switch whose state shows without colour.

Textual's RadioButton draws ``●`` on every option and tells the chosen one apart only by colour, so
with NO_COLOR or on a monochrome terminal every option looks chosen. Here only the chosen option has
the ``●``; the others are an empty box. Its Switch is a bar whose thumb is only a colour; ``Toggle``
says ``on``/``off``.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.widgets import RadioButton, Switch


class Choice(RadioButton):
    """A RadioButton that marks its state with a glyph, not only a colour."""

    BUTTON_INNER = " "  # not chosen (the value starts False)
    CHOSEN = "●"

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.CHOSEN if self.value else " "
        super().watch_value()  # the -on class and the Changed message the RadioSet follows
        self.refresh()


class Toggle(Switch):
    """A Switch that says ``on`` or ``off`` beside a filled or empty dot: Textual's slider tells the two
    apart only by colour, so with NO_COLOR both look the same (an empty bar)."""

    DEFAULT_CSS = """
    Toggle { padding: 0 1; }
    """

    def render(self) -> RenderResult:
        slider = self.get_component_rich_style("switch--slider")
        dot = Style(color=slider.color, bold=True)
        return Text.assemble(("●", dot), " on ") if self.value else Text.assemble(("○", dot), " off")

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return 5

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1
