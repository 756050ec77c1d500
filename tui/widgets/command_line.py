"""The k9s prompt: ``/`` filters the table as you type, ``:`` jumps to a view or runs a command.
Tab (or →) takes the completion shown: a command, or a route name after ``canary``/``charts`` and
in a filter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Literal

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

from ..commands import prompt_hint

Mode = Literal["filter", "command"]
ROUTE_COMMANDS = ("canary", "charts", "proxies")  # the commands that take a route name


class PromptSuggester(Suggester):
    """What the prompt completes: commands, and route names (after ``canary``/``charts``, and as a
    filter). Asked afresh every time, since the routes change."""

    def __init__(self, commands: Sequence[str], routes: Callable[[], Sequence[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.commands = commands
        self.routes = routes
        self.mode: Mode = "command"

    def candidates(self) -> list[str]:
        names = list(self.routes())
        if self.mode == "filter":
            return names
        with_routes = [f"{command} {name}" for command in ROUTE_COMMANDS for name in names]
        return [*self.commands, *with_routes]

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        for candidate in self.candidates():
            if candidate.casefold().startswith(value) and len(candidate) > len(value):
                return candidate
        return None


class CommandLine(Input):
    """An Input that is hidden until ``open`` is called. Posts ``Filter`` on every keystroke in
    filter mode, ``Command`` on enter in command mode, and ``Closed`` when dismissed."""

    DEFAULT_CSS = """
    CommandLine {
        display: none;
        dock: top;
        height: 3;
        border: tall $accent;
        background: $surface;
    }
    CommandLine.-open { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", show=False, id="prompt.cancel"),
        Binding("tab", "complete", "Complete", show=False, id="prompt.complete"),
    ]

    class Filter(Message):
        def __init__(self, text: str, final: bool) -> None:
            self.text = text
            self.final = final
            super().__init__()

    class Command(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    class Closed(Message):
        def __init__(self, mode: Mode, cleared: bool) -> None:
            self.mode = mode
            self.cleared = cleared
            super().__init__()

    def __init__(
        self,
        commands: Sequence[str] = (),
        *,
        routes: Callable[[], Sequence[str]] = tuple,
        id: str | None = None,
    ) -> None:
        self.completions = PromptSuggester(commands, routes)
        super().__init__(id=id, suggester=self.completions)
        self.mode: Mode = "filter"

    def open(self, mode: Mode, text: str = "") -> None:
        self.mode = mode
        self.completions.mode = mode
        self.placeholder = (
            "filter: a regex, ! inverts (enter keeps it, esc clears)" if mode == "filter" else prompt_hint()
        )
        self.border_title = "/" if mode == "filter" else ":"
        self.value = text
        self.cursor_position = len(text)
        self.add_class("-open")
        # At once, not after a refresh (``focus()``): the keys already queued behind ``:`` or ``/``
        # are routed to the focused widget next, and must come here.
        self.screen.set_focus(self)

    def close(self) -> None:
        self.remove_class("-open")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter" and self.has_class("-open"):
            self.post_message(self.Filter(event.value, final=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        if self.mode == "filter":
            self.post_message(self.Filter(event.value, final=True))
        else:
            self.post_message(self.Command(event.value.strip()))

    def action_complete(self) -> None:
        """Tab takes the completion shown (as in k9s); without one, nothing happens (focus stays)."""
        self.cursor_position = len(self.value)
        self.action_cursor_right()

    def action_dismiss(self) -> None:
        self.close()
        if self.mode == "filter":
            self.post_message(self.Filter("", final=True))
        self.post_message(self.Closed(self.mode, cleared=self.mode == "filter"))
