"""``?``: the keys of the view underneath, read from its active bindings, plus the ``:`` commands."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from .base import ConsoleModal

COMMANDS = (
    (":routes  :rt", "the routes view"),
    (":policies  :pol", "every policy on every route"),
    (":gateways  :gw  :ctx", "connect to another gateway or cluster context"),
    (":history  :hist", "applied changes"),
    (":theme NAME", "dark, light or high-contrast (ctrl+t cycles)"),
    (":canary ROUTE  :triage  :charts", "canary, triage and traffic views"),
    (":undo  :refresh  :q  :quit", "undo, refresh, back, quit"),
)
FILTER_HELP = (
    ("/text", "filter rows as you type: a regex, case-insensitive"),
    ("/!text", "rows that do NOT match"),
    ("enter / esc", "keep the filter / clear it"),
)


def key_rows(screen: Screen[Any]) -> list[tuple[str, str]]:
    """(keys, description) for every enabled binding the screen answers to, deduplicated."""
    app = screen.app
    seen: dict[str, list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or not active.enabled:
            continue
        display = binding.key_display or app.get_key_display(binding.with_key(key))
        seen.setdefault(binding.description, [])
        if display not in seen[binding.description]:
            seen[binding.description].append(display)
    return [(" ".join(keys), description) for description, keys in seen.items()]


def _table(rows: list[tuple[str, str]] | tuple[tuple[str, str], ...], width: int = 22) -> Content:
    return Content("\n").join(
        Content.assemble(Content.styled(f"{keys:>{width}}", "bold $text-accent"), "  ", description)
        for keys, description in rows
    )


class HelpScreen(ConsoleModal):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 86; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen .title { text-style: bold; color: $text-primary; margin: 1 0 0 0; }
    HelpScreen VerticalScroll { height: auto; max-height: 100%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        name = getattr(self.under, "VIEW", "") or type(self.under).__name__
        with Vertical(), VerticalScroll():
            yield Static(f"Keys — {name}", classes="title")
            yield Static(_table(key_rows(self.under)))
            if hasattr(self.under, "action_filter"):
                yield Static("Filter", classes="title")
                yield Static(_table(FILTER_HELP))
                sorts = getattr(self.under, "SORT_HELP", "")
                if sorts:
                    yield Static(Content.styled(sorts, "$text-muted"))
            yield Static("Commands (:)", classes="title")
            yield Static(_table(COMMANDS))
            yield Static(
                Content.styled(
                    "ctrl+p: command palette (every action) · ctrl+t: theme · ctrl+q: quit", "$text-muted"
                ),
                classes="title",
            )
