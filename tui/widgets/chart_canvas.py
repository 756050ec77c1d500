"""A braille canvas: lines drawn at 2x4 dots per terminal cell, one colour index per cell.

Pure (no Textual): the chart widget turns ``rows()`` into styled strips. Drawing a chart of a dozen
series over 120 steps costs a few milliseconds, so a live chart can redraw every refresh.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Bit of each dot in a braille cell, by (column 0-1, row 0-3 from the top).
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
BRAILLE_BASE = 0x2800


class BrailleCanvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = max(1, width)  # cells
        self.height = max(1, height)
        self._bits = [0] * (self.width * self.height)
        self._color = [-1] * (self.width * self.height)

    @property
    def dots_x(self) -> int:
        return self.width * 2

    @property
    def dots_y(self) -> int:
        return self.height * 4

    def dot(self, x: int, y: int, color: int) -> None:
        """Set the dot at (x, y), y counted from the bottom; outside the canvas is ignored."""
        if not (0 <= x < self.dots_x and 0 <= y < self.dots_y):
            return
        row = self.dots_y - 1 - y
        cell = (row // 4) * self.width + x // 2
        self._bits[cell] |= _DOT_BITS[x % 2][row % 4]
        self._color[cell] = color

    def line(self, x0: int, y0: int, x1: int, y1: int, color: int) -> None:
        """A straight line of dots between two points (Bresenham)."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.dot(x0, y0, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def polyline(self, points: Sequence[tuple[int, int] | None], color: int) -> None:
        """Consecutive points joined by lines; None breaks the line (a step without data)."""
        previous: tuple[int, int] | None = None
        for p in points:
            if p is not None:
                if previous is not None:
                    self.line(previous[0], previous[1], p[0], p[1], color)
                else:
                    self.dot(p[0], p[1], color)
            previous = p

    def rows(self) -> list[list[tuple[str, int]]]:
        """Each row as (character, colour index) cells; -1 for an empty cell."""
        out = []
        for r in range(self.height):
            start = r * self.width
            out.append(
                [
                    (chr(BRAILLE_BASE + bits) if bits else " ", color)
                    for bits, color in zip(
                        self._bits[start : start + self.width],
                        self._color[start : start + self.width],
                        strict=True,
                    )
                ]
            )
        return out


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above ``value`` (a tidy top for a y axis)."""
    if not value > 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * scale >= value * (1 - 1e-9):
            return m * scale
    return 10 * scale


def format_value(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.3g}k"
    if value >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2g}"
