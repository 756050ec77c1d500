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
ROUTE_COMMANDS = ("canary", "charts", "proxies", "match")  # the commands that take a route name


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
        height: 3;
        border: tall $accent;
        background: $surface;
    }
    CommandLine.-open { display: block; }
    """

    # Shown in the footer while the prompt has focus: a focused Input takes every printable key, so
    # the view's own hints all drop out and the footer would otherwise go blank.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "run", "Run", key_display="⏎", id="prompt.run"),
        Binding("enter", "keep", "Keep filter", key_display="⏎", id="prompt.keep"),
        Binding("tab", "complete", "Complete", id="prompt.complete"),
        Binding("escape", "dismiss", "Cancel", id="prompt.cancel"),
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

    class Done(Message):
        """A ⏎'s filter has been applied: posted after ``Filter`` so it reaches the app once the view
        has handled that (keys typed ahead of the ⏎ wait for it, ``tui.type_ahead``)."""

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
            self.post_message(self.Done())
        else:
            self.post_message(self.Command(event.value.strip()))  # the app releases held keys after it
            # The view takes focus back (for when it shows again), not this hidden prompt.
            self.post_message(self.Closed(self.mode, cleared=False))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """⏎ runs a command, or keeps a filter: one hint, named for the prompt's mode."""
        if action in ("run", "keep"):
            return (action == "run") == (self.mode == "command")
        return True

    async def action_run(self) -> None:
        await self.action_submit()

    async def action_keep(self) -> None:
        await self.action_submit()

    def action_complete(self) -> None:
        """Tab takes the completion shown (as in k9s); without one, nothing happens (focus stays)."""
        self.cursor_position = len(self.value)
        self.action_cursor_right()

    def action_dismiss(self) -> None:
        self.close()
        if self.mode == "filter":
            self.post_message(self.Filter("", final=True))
        self.post_message(self.Closed(self.mode, cleared=self.mode == "filter"))
