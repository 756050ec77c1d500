"""Filtering and sorting table rows held as plain tuples: k9s semantics, fast at 10,000 rows.

A filter is a case-insensitive regular expression searched in each row's text; a leading ``!``
inverts it. A row's text is its cells one per line, so ``^`` and ``$`` anchor to a cell:
``^shop$`` finds the route named shop, not every route whose host mentions it. Text that is not
a valid regex is matched literally (and the caller is told why).

Sorting computes an order of row indices once; filtering then keeps that order, so a keystroke
costs one regex search per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

FLAGS = re.IGNORECASE | re.MULTILINE
CELL_SEPARATOR = "\n"  # between a row's cells in its haystack, so ^ and $ anchor per cell


@dataclass(frozen=True)
class RowFilter:
    """A compiled ``/`` filter: a regex when the text is one, else literal text."""

    text: str
    pattern: re.Pattern[str] | None
    invert: bool
    note: str = ""  # why the text is matched literally, if it is

    def matches(self, haystack: str) -> bool:
        if self.pattern is None:
            return True
        return (self.pattern.search(haystack) is None) == self.invert


def compile_filter(text: str) -> RowFilter:
    invert = text.startswith("!")
    body = text[1:] if invert else text
    if not body:
        return RowFilter(text, None, invert)
    try:
        return RowFilter(text, re.compile(body, FLAGS), invert)
    except re.error as exc:
        return RowFilter(
            text,
            re.compile(re.escape(body), re.IGNORECASE),
            invert,
            f"not a regex ({exc.msg}); matched as text",
        )


def apply_filter(order: Sequence[int], haystacks: Sequence[str], row_filter: RowFilter) -> list[int]:
    """The indices of ``order`` whose haystack matches, in the same order."""
    if row_filter.pattern is None:
        return list(order)
    search = row_filter.pattern.search
    if row_filter.invert:
        return [i for i in order if search(haystacks[i]) is None]
    return [i for i in order if search(haystacks[i]) is not None]


def sort_order(count: int, key: Callable[[int], Any] | None, reverse: bool = False) -> list[int]:
    """Row indices sorted by ``key`` (stable; the gateway's order when ``key`` is None)."""
    indices = list(range(count))
    if key is None:
        return indices[::-1] if reverse else indices
    return sorted(indices, key=key, reverse=reverse)


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort ``route-2`` before ``route-10``."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text))
