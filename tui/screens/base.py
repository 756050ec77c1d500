"""What every view shares: the status line, the ``:`` prompt, refresh, back, worker outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from ..commands import COMPLETIONS
from ..host import ConsoleHost, console_of
from ..outcomes import WorkerOutcomes
from ..widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from ..widgets.command_line import CommandLine, Mode


class ConsoleScreen(WorkerOutcomes, Screen[None]):
    """A full-screen view. Subclasses compose ``self.chrome()`` first, then their body and KeyHints.
    The ``/`` and ``:`` prompt is mounted below the status line on first use (``open_prompt``)."""

    VIEW: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: handled in the order keys arrive, before the next one is routed, so what is
        # typed right after ``:`` (tmux send-keys ':canary shop') goes into the prompt, not the view.
        # A focused text field that takes ``:`` keeps it (Textual drops bindings of consumed keys).
        Binding("colon", "command_line", "Command", key_display=":", id="view.command_line", priority=True),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="view.refresh"),
        Binding("q", "back", "Back / quit", show=False, id="view.back"),
    ]

    @property
    def console(self) -> ConsoleHost:
        return console_of(self.app)

    def chrome(self) -> tuple[StatusBar]:
        return (StatusBar(self.VIEW),)

    async def open_prompt(self, mode: Mode, text: str = "") -> None:
        """Open the prompt, mounting it the first time: an Input is a tenth of the console's start-up,
        and most visits to a view never type into it."""
        from ..widgets.command_line import CommandLine

        found = self.query(CommandLine)
        if found:
            prompt = found.first()
        else:
            prompt = CommandLine(
                COMPLETIONS, routes=lambda: [r.name for r in self.console.routes], id="command-line"
            )
            await self.mount(prompt, after=self.query_one(StatusBar))
        prompt.open(mode, text)

    async def action_command_line(self) -> None:
        await self.open_prompt("command")

    def on_command_line_command(self, message: CommandLine.Command) -> None:
        self.console.run_console_command(message.text)

    def on_command_line_closed(self, message: CommandLine.Closed) -> None:
        self.focus_body()

    def focus_body(self) -> None:
        """Put focus back on the view's main widget after the prompt closes."""

    def action_refresh(self) -> None:
        self.console.refresh_now()
        self.notify("Refreshing…", timeout=1)

    def action_back(self) -> None:
        """Back one screen; on a view's first screen there is nowhere back to go, so quit (k9s), asking
        first when that would lose something."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.console.request_quit()


class ConsoleModal(WorkerOutcomes, ModalScreen[Any]):
    """A dialog over a view; escape closes it (unless busy); ``?`` (or f1 in a text field) lists its
    keys, and ctrl+c quits (asking first), like on every view (a modal screen does not get the app's
    own bindings)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="dialog.close"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?", show=False, id="dialog.help"),
        Binding("ctrl+c", "quit_or_copy", "Quit", show=False, id="dialog.quit"),
    ]

    @property
    def console(self) -> ConsoleHost:
        return console_of(self.app)

    def action_quit_or_copy(self) -> None:
        """ctrl+c, once a focused field did not copy a selection with it: copy text selected on the
        dialog, else quit as ``q``/``:q`` do (asking when that would lose something), as in k9s."""
        selected = self.get_selected_text()
        if selected:
            self.app.copy_to_clipboard(selected)
        else:
            self.console.request_quit()

    def action_close(self) -> None:
        self.dismiss(None)
