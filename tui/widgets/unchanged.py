"""Redraw only what changed: the live views refresh every second, and most seconds nothing changed.

``Static.update`` lays out the whole screen again and ``DataTable.clear`` + ``add_row`` drop every
rendered row, re-measure every column and re-render the table, even when the figures are the same
as a second ago: with a console left open all night that is most of its CPU. These helpers compare
what would be shown with what is shown and touch the widget only when they differ, so whenever the
data changes the screen still changes on that same refresh (nothing stale is ever shown as current).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

Cells = Sequence[Any]


def cell_key(cell: object) -> Hashable:
    """What a cell shows, comparable: a Rich ``Text`` or a ``Content`` compare their text only
    (``==``), but a change of style or alignment is a change on screen too."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, Text):
        return ("text", cell.plain, str(cell.style), cell.justify, cell.overflow, tuple(cell.spans))
    if isinstance(cell, Content):
        return ("content", cell.plain, tuple(cell.spans))
    return ("other", type(cell).__name__, repr(cell))


def update_static(widget: Static, content: str | Content | Text, *, layout: bool = True) -> bool:
    """``widget.update(content)`` unless it already shows exactly that; True when it was updated."""
    if cell_key(widget.content) == cell_key(content):
        return False
    widget.update(content, layout=layout)
    return True


def _width(cell: object) -> int:
    """Cells a one-line cell takes (how DataTable sizes an auto-width column)."""
    text = cell.plain if isinstance(cell, Text | Content) else str(cell)
    return max((cell_len(line) for line in text.split("\n")), default=0)


class TableRows:
    """What a DataTable shows, kept beside it to fill it again only when the rows differ.

    ``fill`` with the same rows does nothing (no re-render, no layout, the cursor and the scroll
    stay); with the same row keys in the same order and columns as wide as before it updates the
    changed cells in place (ages and counters tick without the table being rebuilt); otherwise it
    clears the table and adds the rows, as before.
    """

    def __init__(self) -> None:
        self._columns: tuple[ColumnKey, ...] = ()
        self._keys: tuple[str | None, ...] = ()
        self._shown: tuple[tuple[Hashable, ...], ...] = ()
        self._widths: tuple[int, ...] = ()

    def fill(self, table: DataTable[Any], rows: Sequence[tuple[str | None, Cells]]) -> str:
        """Show ``rows`` ((key, cells) each) in ``table``. Returns what it did: ``"same"``,
        ``"cells"`` (updated in place) or ``"rebuilt"`` (cleared and added: the cursor went back to
        the top, the caller puts it where it belongs)."""
        columns = tuple(table.columns)
        keys = tuple(key for key, _ in rows)
        shown = tuple(tuple(cell_key(c) for c in cells) for _, cells in rows)
        widths = tuple(
            max((_width(cells[i]) for _, cells in rows if i < len(cells)), default=0)
            for i in range(len(columns))
        )
        current = tuple(str(k.value) if k.value is not None else None for k in table.rows)
        if columns == self._columns and keys == self._keys == current and None not in keys:
            if shown == self._shown:
                return "same"
            if widths == self._widths:
                self._update_cells(table, rows, shown)
                self._shown = shown
                return "cells"
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        self._columns, self._keys, self._shown, self._widths = columns, keys, shown, widths
        return "rebuilt"

    def _update_cells(
        self,
        table: DataTable[Any],
        rows: Sequence[tuple[str | None, Cells]],
        shown: tuple[tuple[Hashable, ...], ...],
    ) -> None:
        for (key, cells), new, old in zip(rows, shown, self._shown, strict=True):
            if new == old:
                continue
            assert key is not None  # checked by fill: only keyed rows are updated in place
            for column, cell, now, was in zip(self._columns, cells, new, old, strict=False):
                if now != was:
                    table.update_cell(key, column, cell)
