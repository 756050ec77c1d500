"""A virtualised table: only the rows on screen are rendered (Textual's Line API).

A DataTable with 10,000 rows took 2.4 s to its first frame; this table keeps its rows as plain tuples
of strings, filters and sorts lists of row indices (``tui.table_query``) and renders one ``Strip``
per visible line, so 10,000 rows cost what 40 do. Live columns (requests/s, 5xx...) are not stored
in the rows: a ``live`` lookup supplies them per visible row at render time, so a metrics update
redraws the screen without touching 10,000 tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..table_query import CELL_SEPARATOR, RowFilter, apply_filter, compile_filter, natural_key, sort_order
from ..textual_compat import set_scroll_extent

# A live lookup returns, for a row key: the live columns' texts, their sort values, and a status
# ("healthy", "degraded", "limited", "idle" or "") that picks the colour of the row's live cells.
LiveCells = tuple[tuple[str, ...], tuple[float, ...], str]
LiveLookup = Callable[[str], LiveCells]

STATUSES = ("healthy", "degraded", "limited", "idle")
GAP = 2  # spaces between columns


@dataclass(frozen=True)
class Column:
    """One table column: title, width rules, alignment and sort key."""

    title: str
    sort_letter: str | None = None  # shift+letter sorts by this column (k9s)
    width: int | None = None  # fixed width; None shares the remaining width by ``ratio``
    min_width: int = 6
    ratio: int = 1
    align: Literal["left", "right"] = "left"
    live: bool = False  # filled by the live lookup, not stored in rows; live columns come last
    natural: bool = False  # sort "r2" before "r10"


class LineTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of strings with a cursor, a k9s-style filter and column sorting.

    Set rows with ``set_rows``; ``filter_text`` filters as it changes; ``sort_by`` sorts.
    Posts ``Selected`` on enter or double click and ``ViewChanged`` when the shown rows change.
    """

    DEFAULT_CSS = """
    LineTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
    }
    LineTable > .line-table--header { background: $panel; color: $text-primary; text-style: bold; }
    LineTable > .line-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    LineTable:blur > .line-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    LineTable > .line-table--healthy { color: $route-healthy; }
    LineTable > .line-table--degraded { color: $route-degraded; text-style: bold; }
    LineTable > .line-table--limited { color: $route-limited; text-style: bold; }
    LineTable > .line-table--idle { color: $route-idle; }
    LineTable > .line-table--empty { color: $text-muted; text-style: italic; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--cursor",
        "line-table--empty",
        *(f"line-table--{s}" for s in STATUSES),
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "Top", show=False, id="table.top"),
        Binding("end,G", "last", "Bottom", show=False, id="table.bottom"),
        Binding("enter", "select", "Open", show=False, id="table.open"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Position of the cursor in the shown (filtered, sorted) rows."""

    filter_text: reactive[str] = reactive("", always_update=False, repaint=False, init=False)
    """k9s filter: a regex searched case-insensitively in each row; ``!`` inverts."""

    class Selected(Message):
        """Enter or double click on a row."""

        def __init__(self, table: LineTable, key: str) -> None:
            self.table = table
            self.key = key
            super().__init__()

        @property
        def control(self) -> LineTable:
            return self.table

    class ViewChanged(Message):
        """The shown rows changed (filter, sort or new rows)."""

        def __init__(self, table: LineTable) -> None:
            self.table = table
            super().__init__()

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        empty_text: str = "nothing to show",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.columns = tuple(columns)
        self.static_count = sum(1 for c in self.columns if not c.live)
        self.empty_text = empty_text
        self.loading_text: str | None = "loading…"
        self._keys: list[str] = []
        self._rows: list[tuple[str, ...]] = []
        self._haystacks: list[str] = []
        self._live: LiveLookup | None = None
        self._order: list[int] = []
        self._view: list[int] = []
        self._filter: RowFilter = compile_filter("")
        self._sort_column: int | None = None
        self._sort_reverse = False
        self._widths: tuple[int, ...] = ()
        self._widths_for = -1
        self._styles: dict[str, Style] = {}

    # -- data ---------------------------------------------------------------------------------

    def set_rows(self, keys: Sequence[str], rows: Sequence[tuple[str, ...]]) -> None:
        """Replace every row. ``keys`` identify rows (route names); the cursor stays on its key.
        The same rows again (a refresh that found nothing new) change nothing and redraw nothing."""
        if self.loading_text is None and list(keys) == self._keys and list(rows) == self._rows:
            return
        keep = self.cursor_key
        self._keys = list(keys)
        self._rows = list(rows)
        self._haystacks = [CELL_SEPARATOR.join(r) for r in self._rows]
        self.loading_text = None
        self._resort()
        self._refilter(keep)

    def set_live(self, live: LiveLookup | None) -> None:
        """New live figures: redraw the visible rows (and re-sort when sorted by a live column)."""
        self._live = live
        if self._sort_column is not None and self.columns[self._sort_column].live:
            keep = self.cursor_key
            self._resort()
            self._refilter(keep)
        else:
            self.refresh()

    def set_placeholder(self, text: str | None) -> None:
        self.loading_text = text
        self.refresh()

    def watch_filter_text(self, text: str) -> None:
        self._filter = compile_filter(text)
        self._refilter(self.cursor_key)

    def sort_by(self, column: int, reverse: bool | None = None) -> None:
        """Sort by ``column``; sorting by the same column again flips the direction. Numbers
        (live columns) sort highest first."""
        if reverse is None:
            reverse = (not self._sort_reverse) if column == self._sort_column else self.columns[column].live
        self._sort_column, self._sort_reverse = column, reverse
        keep = self.cursor_key
        self._resort()
        self._refilter(keep)

    def sort_by_letter(self, letter: str) -> bool:
        for i, col in enumerate(self.columns):
            if col.sort_letter == letter.lower():
                self.sort_by(i)
                return True
        return False

    # -- state --------------------------------------------------------------------------------

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def shown_count(self) -> int:
        return len(self._view)

    @property
    def filter_note(self) -> str:
        return self._filter.note

    @property
    def sort_state(self) -> tuple[int | None, bool]:
        return self._sort_column, self._sort_reverse

    @property
    def shown_keys(self) -> list[str]:
        return [self._keys[i] for i in self._view]

    @property
    def cursor_key(self) -> str | None:
        if 0 <= self.cursor < len(self._view):
            return self._keys[self._view[self.cursor]]
        return None

    def move_to_key(self, key: str) -> bool:
        for pos, index in enumerate(self._view):
            if self._keys[index] == key:
                self.cursor = pos
                return True
        return False

    def row_for(self, key: str) -> tuple[str, ...] | None:
        try:
            return self._rows[self._keys.index(key)]
        except ValueError:
            return None

    # -- view maintenance ---------------------------------------------------------------------

    def _sort_key(self) -> Callable[[int], Any] | None:
        column = self._sort_column
        if column is None:
            return None
        if self.columns[column].live:
            live, keys, offset = self._live, self._keys, column - self.static_count
            if live is None:
                return None
            return lambda i: live(keys[i])[1][offset]
        rows = self._rows
        if self.columns[column].natural:
            return lambda i: natural_key(rows[i][column])
        return lambda i: rows[i][column].lower()

    def _resort(self) -> None:
        self._order = sort_order(len(self._rows), self._sort_key(), self._sort_reverse)

    def _refilter(self, keep: str | None) -> None:
        self._view = apply_filter(self._order, self._haystacks, self._filter)
        self._set_virtual_height(len(self._view) + 1)
        if keep is None or not self.move_to_key(keep):
            self.cursor = min(self.cursor, max(0, len(self._view) - 1))
        self.refresh()
        self.post_message(self.ViewChanged(self))

    # -- cursor -------------------------------------------------------------------------------

    @property
    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._view) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        top = round(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + self._page_rows:
            self.scroll_to(y=new - self._page_rows + 1, animate=False, immediate=True)
        else:
            # Same page: only the two rows whose highlight changed need drawing.
            width = self.size.width
            for pos in {old, new}:
                self.refresh(Region(0, pos - top + 1, width, 1))
            return
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * self._page_rows

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self._view) - 1

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None and self.columns[column].sort_letter:
                self.sort_by(column)
            return
        pos = round(self.scroll_y) + event.y - 1
        if 0 <= pos < len(self._view):
            self.cursor = pos
            if event.chain == 2:
                self.action_select()

    def _column_at(self, x: int) -> int | None:
        left = 0
        for i, width in enumerate(self._column_widths(self.scrollable_content_region.width)):
            if left <= x < left + width + GAP:
                return i
            left += width + GAP
        return None

    # -- rendering ----------------------------------------------------------------------------

    def _set_virtual_height(self, height: int) -> None:
        """A new row count changes only the scrollbar, not the screen's layout: skip the layout pass
        a ``virtual_size`` assignment would trigger (it repaints the whole screen per keystroke)."""
        size = Size(self.size.width, height)
        if size != self.virtual_size:
            set_scroll_extent(self, size)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._view) + 1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self.refresh()

    def _style(self, name: str) -> Style:
        """The widget's base style (``""``) or base plus a component class, cached per theme."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style
            if name:
                style += self.get_component_rich_style(name)
            self._styles[name] = style
        return style

    def _column_widths(self, width: int) -> tuple[int, ...]:
        if self._widths_for == width:
            return self._widths
        fixed = sum(c.width for c in self.columns if c.width is not None)
        spare = max(0, width - fixed - GAP * (len(self.columns) - 1))
        flexible = [c for c in self.columns if c.width is None]
        ratio_total = sum(c.ratio for c in flexible) or 1
        widths = []
        for col in self.columns:
            if col.width is not None:
                widths.append(col.width)
            else:
                widths.append(max(col.min_width, spare * col.ratio // ratio_total))
        # A column raised to its minimum takes its cells from the widest flexible one, so the row
        # still fits (the last column is not cut).
        over = sum(widths) + GAP * (len(self.columns) - 1) - width
        if over > 0 and flexible:
            widest = max((i for i, c in enumerate(self.columns) if c.width is None), key=lambda i: widths[i])
            widths[widest] = max(self.columns[widest].min_width, widths[widest] - over)
        self._widths, self._widths_for = tuple(widths), width
        return self._widths

    def _cells(self, texts: Sequence[str], widths: Sequence[int]) -> list[str]:
        out = []
        for col, text, width in zip(self.columns, texts, widths, strict=False):
            if cell_len(text) > width:
                text = set_cell_size(text, max(0, width - 1)) + "…" if width else ""
            out.append(text.rjust(width) if col.align == "right" else set_cell_size(text, width))
        return out

    def _header_texts(self) -> list[str]:
        texts = []
        for i, col in enumerate(self.columns):
            title = col.title
            if i == self._sort_column:
                title += "↓" if self._sort_reverse else "↑"
            texts.append(title)
        return texts

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = self._column_widths(width)
        base = self._style("")
        gap = " " * GAP
        if y == 0:
            style = self._style("line-table--header")
            text = gap.join(self._cells(self._header_texts(), widths))
            return Strip([Segment(set_cell_size(text, width), style)], width)
        pos = round(self.scroll_y) + y - 1
        if pos >= len(self._view):
            if pos == 0:
                message = self.loading_text or (
                    f"{self.empty_text} (filter: {self._filter.text})"
                    if self._filter.text
                    else self.empty_text
                )
                style = self._style("line-table--empty")
                return Strip([Segment(set_cell_size(" " + message, width), style)], width)
            return Strip.blank(width, base)
        index = self._view[pos]
        key = self._keys[index]
        texts: list[str] = list(self._rows[index])
        status = ""
        if self.static_count < len(self.columns):
            if self._live is not None:
                live_texts, _, status = self._live(key)
                texts.extend(live_texts)
            else:
                texts.extend("—" for _ in range(len(self.columns) - self.static_count))
        cells = self._cells(texts, widths)
        if pos == self.cursor:
            style = self._style("line-table--cursor")
            return Strip([Segment(set_cell_size(gap.join(cells), width), style)], width)
        status_style: Style | None = None
        if status in STATUSES:
            status_style = self._style(f"line-table--{status}")
        segments = []
        for i, cell in enumerate(cells):
            live_cell = self.columns[i].live or (i == 0 and status in ("degraded", "limited"))
            segments.append(Segment(cell, status_style if live_cell and status_style else base))
            if i < len(cells) - 1:
                segments.append(Segment(gap, base))
        strip = Strip(segments).crop_extend(0, width, base)
        return strip
