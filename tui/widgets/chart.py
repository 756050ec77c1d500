"""A time chart of metric series in the theme's colours, with a legend, a unit and a status line.

Lines are drawn on a braille canvas (2x4 dots per cell, ``chart_canvas``) with Textual's line API:
a redraw costs a few milliseconds, and the drawn strips are reused until the data, the size or the
theme change. Colours come from theme variables only (``$success`` for 2xx, ``$error`` for 5xx,
``$route-limited`` for 429s...). When the source has no data the title line says why
(``no data since …``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.strip import Strip
from textual.widget import Widget

from connectors.metrics import Series

from .chart_canvas import BrailleCanvas, format_value, nice_ceiling

# Which theme variable colours each series.
COLOR_VARIABLES: dict[str, str] = {
    "rps": "primary",
    "1xx": "secondary",
    "2xx": "success",
    "3xx": "secondary",
    "4xx": "warning",
    "5xx": "error",
    "limited": "route-limited",
    "allowed": "route-healthy",
    "p50": "primary",
    "p95": "accent",
    "p99": "error",
    "stable": "weight-a",
    "canary": "weight-b",
    # a route's backends overlaid on one chart, in the route's order
    "backend-0": "weight-a",
    "backend-1": "weight-b",
    "backend-2": "accent",
    "backend-3": "secondary",
}


def clock_labels(times: Sequence[float], count: int = 3) -> list[str]:
    """HH:MM[:SS] labels for the start, middle and end of the time axis."""
    if not times:
        return []
    fmt = "%H:%M:%S" if times[-1] - times[0] <= 600 else "%H:%M"
    picks = [times[round(i * (len(times) - 1) / max(1, count - 1))] for i in range(count)]
    return [time.strftime(fmt, time.localtime(t)) for t in picks]


class TimeChart(Widget):
    """Series over time: ``show(times, series, status)``; None values leave a gap in the line."""

    DEFAULT_CSS = """
    TimeChart { height: 1fr; min-height: 6; }
    """

    def __init__(
        self,
        title: str,
        unit: str,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.chart_title = title
        self.unit = unit
        self._times: tuple[float, ...] = ()
        self._series: tuple[Series, ...] = ()
        self._status = "loading…"
        self._version = 0  # bumped on every change of what is drawn
        self._cache: tuple[tuple[int, int, int, str], list[Strip]] | None = None

    def show(self, times: Sequence[float], series: Sequence[Series], status: str = "ok") -> None:
        new = (tuple(times), tuple(series), status)
        if new == (self._times, self._series, self._status):
            return  # an idle gateway's chart changes once per step at most
        self._times, self._series, self._status = new
        self._version += 1
        self.refresh()

    @property
    def series(self) -> tuple[Series, ...]:
        return self._series

    @property
    def status(self) -> str:
        return self._status

    def render_line(self, y: int) -> Strip:
        key = (self.size.width, self.size.height, self._version, self.app.theme)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._draw(self.size.width, self.size.height))
        lines = self._cache[1]
        return lines[y] if 0 <= y < len(lines) else Strip.blank(self.size.width, self.rich_style)

    # -- drawing ---------------------------------------------------------------------------------

    def _style(self, variable: str, *, bold: bool = False, dim: bool = False) -> Style:
        variables = self.app.theme_variables
        value = variables.get(variable) or variables.get("foreground") or "white"
        return self.rich_style + Style(color=Color.parse(value).rich_color, bold=bold, dim=dim)

    def _draw(self, width: int, height: int) -> list[Strip]:
        base = self.rich_style
        text = self._style("foreground")
        muted = self._style("foreground", dim=True)
        colours = [self._style(COLOR_VARIABLES.get(s.key, "foreground")) for s in self._series]
        lines = [Strip(line).adjust_cell_length(width, base) for line in self._head(width, colours, text)]
        plot_h = max(1, height - 1 - len(lines))
        values = [v for s in self._series for v in s.values if v is not None]
        top = nice_ceiling(max(values)) if values else 1.0
        labels = {0: format_value(top), plot_h // 2: format_value(top / 2), plot_h - 1: "0"}
        label_w = max(len(v) for v in labels.values())
        canvas = BrailleCanvas(max(1, width - label_w - 2), plot_h)
        n = len(self._times)
        for index, s in enumerate(self._series):
            points = [
                None
                if v is None
                else (
                    round(i * (canvas.dots_x - 1) / max(1, n - 1)),
                    round(min(v, top) / top * (canvas.dots_y - 1)),
                )
                for i, v in enumerate(s.values[:n])
            ]
            canvas.polyline(points, index)
        for r, cells in enumerate(canvas.rows()):
            axis = f"{labels[r]:>{label_w}} ┤" if r in labels else f"{'':>{label_w}} │"
            segments = [Segment(axis, muted)]
            run, run_colour = "", -2
            for char, colour in cells:
                if colour != run_colour and run:
                    segments.append(Segment(run, colours[run_colour] if run_colour >= 0 else base))
                    run = ""
                run_colour = colour
                run += char
            if run:
                segments.append(Segment(run, colours[run_colour] if run_colour >= 0 else base))
            lines.append(Strip(segments).adjust_cell_length(width, base))
        if not values:
            message = "no data" if self._status == "ok" else ""
            if message and len(lines) > 1 + plot_h // 2:
                pad = label_w + 2 + max(0, (canvas.width - len(message)) // 2)
                lines[1 + plot_h // 2] = Strip(
                    [Segment(" " * pad), Segment(message, muted)]
                ).adjust_cell_length(width, base)
        lines.append(self._time_axis(width, label_w + 2, canvas.width, muted))
        return lines[:height]

    def _head(self, width: int, colours: list[Style], text: Style) -> list[list[Segment]]:
        """The title line, "Responses (req/s)  ━ requests/s  ━ 2xx responses/s" (or the missing data's
        reason); legend entries that do not fit go on the next lines, never cut off."""
        lines = [[Segment(f"{self.chart_title} ({self.unit})", self._style("foreground", bold=True))]]
        if self._status != "ok":
            return [[*lines[0], Segment(f"  {self._status}", self._style("warning"))]]
        used = Segment.get_line_length(lines[0])
        for s, style in zip(self._series, colours, strict=True):
            entry = [Segment("  ━ ", style), Segment(s.label, text)]
            length = Segment.get_line_length(entry)
            if used + length > width and used > 0:
                lines.append([])
                used = 0
            lines[-1] += entry
            used += length
        return lines

    def _time_axis(self, width: int, left: int, plot_width: int, style: Style) -> Strip:
        """Start, middle and end of the window under the plot (which starts at column ``left``)."""
        stamps = clock_labels(self._times)
        footer = [" "] * width
        if stamps:
            positions = (left, left + (plot_width - len(stamps[1])) // 2, width - len(stamps[-1]))
            for pos, stamp in zip(positions, stamps, strict=False):
                for i, ch in enumerate(stamp):
                    if 0 <= pos + i < width:
                        footer[pos + i] = ch
        return Strip([Segment("".join(footer), style)]).adjust_cell_length(width, self.rich_style)
