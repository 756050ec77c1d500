"""``?``: the keys of the view underneath, read from its active bindings, plus the ``:`` commands."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from ..commands import help_rows
from .base import ConsoleModal

BACK = ("esc", "back one screen (q too)")
FILTER_HELP = (
    ("/text", "filter rows as you type: a regex, case-insensitive; ^ $ anchor to a cell"),
    ("/!text", "rows that do NOT match"),
    ("enter esc", "keep the filter / clear it"),
)


# Textual's own bindings every screen has; they are not this console's keys.
GENERIC_ACTIONS = {
    "focus_next",
    "focus_previous",
    "app.focus_next",
    "app.focus_previous",
    "copy_text",
    "screen.copy_text",
    "app.copy_text",
}


def key_rows(screen: Screen[Any]) -> list[tuple[str, str]]:
    """(keys, description) for every enabled binding the screen answers to, deduplicated."""
    app = screen.app
    seen: dict[str, list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or not active.enabled or binding.action in GENERIC_ACTIONS:
            continue
        display = binding.key_display or app.get_key_display(binding.with_key(key))
        seen.setdefault(binding.description, [])
        if display not in seen[binding.description]:
            seen[binding.description].append(display)
    return [(" ".join(keys), description) for description, keys in seen.items()]


def _table(rows: list[tuple[str, str]] | tuple[tuple[str, str], ...], width: int = 12) -> Content:
    return Content("\n").join(
        Content.assemble(Content.styled(f"{keys:>{width}}", "bold $text-accent"), "  ", description)
        for keys, description in rows
    )


def _command_cells() -> ComposeResult:
    """The ``:`` commands in two columns of (usage, what it does), a description wrapping under
    itself. Read from the one command table, so a command added there is listed at once."""
    listed = [*help_rows(), BACK]
    half = (len(listed) + 1) // 2
    for i in range(half):
        for usage, description in listed[i::half][:2] + [("", "")] * (i + half >= len(listed)):
            yield Static(Content(usage), classes="usage")  # Content: "[ROUTE]" is text, not markup
            yield Static(Content(description))


class HelpScreen(ConsoleModal):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 110; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen .title { text-style: bold; color: $text-primary; margin: 1 0 0 0; }
    HelpScreen VerticalScroll { height: auto; max-height: 100%; }
    HelpScreen .columns { height: auto; }
    HelpScreen .column { width: 1fr; }
    HelpScreen #commands {
        layout: grid; grid-size: 4; grid-columns: auto 1fr auto 1fr; grid-rows: auto;
        grid-gutter: 0 2; height: auto;
    }
    HelpScreen #commands .usage { text-style: bold; color: $text-accent; text-align: right; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close")
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        name = getattr(self.under, "VIEW", "") or type(self.under).__name__
        rows = key_rows(self.under)
        half = (len(rows) + 1) // 2 if len(rows) > 12 else len(rows)
        with Vertical(), VerticalScroll():
            yield Static(f"Keys — {name}", classes="title")
            with Horizontal(classes="columns"):
                yield Static(_table(rows[:half]), classes="column")
                yield Static(_table(rows[half:]), classes="column")
            if hasattr(self.under, "action_filter"):
                yield Static("Filter", classes="title")
                yield Static(_table(FILTER_HELP, width=16))
            yield Static("Commands (:)", classes="title")
            with Grid(id="commands"):
                yield from _command_cells()
            yield Static(
                Content.styled(
                    "ctrl+p: command palette (every action) · ctrl+t: theme · ctrl+c or ctrl+q: quit,"
                    " asking first (ctrl+c copies instead when you selected text)",
                    "$text-muted",
                ),
                classes="title",
            )
