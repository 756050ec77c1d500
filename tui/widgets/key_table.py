"""A DataTable with the keys every list of the console has (k9s): ``j``/``k`` move, ``g``/``G``
(``home``/``end``) go to the first and last row, ``ctrl+b``/``ctrl+f`` page.

Textual's DataTable moves only with the arrows and uses ``home``/``end`` to scroll sideways; the
routes and history views (``LineTable``) already answer the k9s keys, so the small live views
(triage, health, time boxes) use this table to answer them the same way, under the same binding
ids (``table.up``, ``table.top``...), so a keymap that moves one moves all.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable


def table_keys(*, top: str = "home,g") -> list[BindingType]:
    """The bindings of a row table; ``top``: the keys for the first row (a view whose own ``g``
    does something else leaves it out)."""
    return [
        Binding("enter", "select_cursor", "Select", show=False, id="table.open"),
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("left", "cursor_left", "Left", show=False, id="table.left"),
        Binding("right", "cursor_right", "Right", show=False, id="table.right"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down"),
        Binding(top, "scroll_top", "Top", show=False, id="table.top"),
        Binding("end,G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
    ]


class KeyTable(DataTable[Any], inherit_bindings=False):
    """A row table that moves with the k9s keys as well as the arrows."""

    BINDINGS: ClassVar[list[BindingType]] = table_keys()

    def keep_cursor(self, key: str | None) -> None:
        """After the rows were filled again, put the cursor back on the row ``key`` (if still there),
        so a refresh never undoes where the operator moved it."""
        if key is None:
            return
        for index, row in enumerate(self.ordered_rows):
            if row.key.value == key:
                self.move_cursor(row=index, animate=False)
                return

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor (None when the table is empty)."""
        if not self.row_count:
            return None
        value = self.ordered_rows[min(self.cursor_row, self.row_count - 1)].key.value
        return str(value) if value is not None else None


class GroupingTable(KeyTable, inherit_bindings=False):
    """A KeyTable on a view whose ``g`` is its own (triage groups its clients with it): ``home``
    alone goes to the first row there."""

    BINDINGS: ClassVar[list[BindingType]] = table_keys(top="home")
