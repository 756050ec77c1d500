"""``:history``: the changes applied to this gateway, newest first; enter shows one, ``u`` undoes."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from connectors.base import Connector
from connectors.history import HistoryEntry
from connectors.model.diff import to_yaml, unified
from connectors.split import what_changed as split_what_changed

from ..highlight import highlight_diff
from ..widgets.key_hints import KeyHints
from ..widgets.line_table import Column, LineTable
from .base import ConsoleModal
from .route_screen import UndoScreen

HISTORY_COLUMNS = (
    Column("TIME", "t", width=11),
    Column("USER", "u", width=10),
    Column("ACTION", "a", width=14),
    Column("ROUTES", "n", ratio=1, min_width=8),
    Column("CHANGE", "c", ratio=6, min_width=20),
    Column("VERIFIED", "v", width=8),
)


def action_label(entry: HistoryEntry) -> str:
    """``apply``, ``undo``, or what else made the entry as the entry says (``canary step``)."""
    kind = str(getattr(entry, "kind", "") or "change")
    if kind == "change":
        return entry.action
    return f"{kind} {getattr(entry, 'event', '') or entry.action}".strip()


def what_changed(entry: HistoryEntry) -> str:
    """The entry's change; an undo says which change it undid, then what it did (one text source
    with the split line: ``connectors.split.what_changed``)."""
    return split_what_changed(entry)


def when(stamp: float, now: float | None = None) -> str:
    """``11:58:32`` today, ``12-01 09:14`` earlier this year, ``2025-12-01`` before (the entry's
    screen shows the whole time)."""
    local, today = time.localtime(stamp), time.localtime(now)
    fmt = "%H:%M:%S" if local[:3] == today[:3] else "%m-%d %H:%M" if local[0] == today[0] else "%Y-%m-%d"
    return time.strftime(fmt, local)


def entry_row(entry: HistoryEntry) -> tuple[str, ...]:
    change = what_changed(entry)
    if len(entry.routes) == 1:  # the ROUTES column names it already
        change = change.replace(f"{entry.routes[0]}: ", "", 1)
    return (
        when(entry.time),
        entry.user,
        action_label(entry),
        ", ".join(entry.routes),
        change,
        "yes" if entry.verified else "NO",
    )


def entry_diff(entry: HistoryEntry) -> str:
    out = []
    befores = {d.get("name"): d for d in entry.before}
    for after in entry.after:
        before = befores.get(after.get("name"), {})
        out.append(unified(to_yaml(before), to_yaml(after), f"routes/{after.get('name')}"))
    return "".join(out)


class EntryScreen(ConsoleModal):
    DEFAULT_CSS = """
    EntryScreen { align: center middle; }
    EntryScreen > Vertical {
        width: 100; max-width: 100%; height: 80%; border: thick $primary; background: $surface; padding: 0 1;
    }
    EntryScreen #head { padding: 0 0 1 0; }
    """

    def __init__(self, entry: HistoryEntry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        e = self.entry
        head = Content.assemble(
            Content.styled(f"{action_label(e)} {e.id}", "bold $text-primary"),
            f"  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(e.time))}  by {e.user} on {e.gateway}"
            f"  version {e.version or '?'}\n",
            what_changed(e),
            f"\n(it undid change {e.undoes}: {e.description.removeprefix('undo ')})" if e.undoes else "",
        )
        with Vertical():
            yield Static(head, id="head")
            with VerticalScroll():
                yield Static(highlight_diff(entry_diff(e)))


class HistoryScreen(UndoScreen):
    VIEW = "history"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,d", "show_entry", "Show", key_display="⏎", id="history.show"),
        Binding("slash", "filter", "Filter", key_display="/", id="view.filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="view.clear_filter"),
    ]

    class HistoryRead(Message, bubble=False):
        """The gateway's change history, oldest first."""

        def __init__(self, entries: list[HistoryEntry]) -> None:
            super().__init__()
            self.entries = entries

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[HistoryEntry] = []
        self._to_newest = True

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield LineTable(HISTORY_COLUMNS, empty_text="no changes applied yet", id="history")
        yield KeyHints()

    @property
    def table(self) -> LineTable:
        return self.query_one("#history", LineTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.watch(self.app, "routes", lambda _: self.action_refresh(), init=False)
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self._to_newest = True  # coming back: the newest change first, as on opening
        self.action_refresh()

    def focus_body(self) -> None:
        self.table.focus()

    def action_refresh(self) -> None:
        connector = self.console.connector
        if connector is None:
            self.table.set_placeholder("not connected")
            return
        self._read_history(connector)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history", name="history")
    def _read_history(self, connector: Connector) -> HistoryRead:
        return self.HistoryRead(connector.history())

    def on_history_screen_history_read(self, message: HistoryRead) -> None:
        self.entries = list(reversed(message.entries))
        # The cursor follows the newest change while it is on it (set_rows keeps it on its row).
        follow = self._to_newest or self.table.cursor == 0
        self.table.set_rows([e.id for e in self.entries], [entry_row(e) for e in self.entries])
        if follow and self.entries:
            self.table.cursor = 0
            self._to_newest = False

    def selected_entry(self) -> HistoryEntry | None:
        key = self.table.cursor_key
        return next((e for e in self.entries if e.id == key), None)

    def selected_route(self) -> str | None:
        entry = self.selected_entry()
        return entry.routes[0] if entry is not None and entry.routes else None

    def action_show_entry(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.app.push_screen(EntryScreen(entry))

    def on_line_table_selected(self, message: LineTable.Selected) -> None:
        self.action_show_entry()

    async def action_filter(self) -> None:
        await self.open_prompt("filter", self.table.filter_text)

    def on_command_line_filter(self, message: Any) -> None:
        self.table.filter_text = message.text
        if message.final:
            self.table.focus()

    def action_clear_filter(self) -> None:
        self.table.filter_text = ""
