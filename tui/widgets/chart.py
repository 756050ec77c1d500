"""A time chart of metric series in the theme's colours, with a legend, a unit and a status line.

Lines are drawn with textual-plotext. Colours come from theme variables only (``$success`` for
2xx, ``$error`` for 5xx, ``$route-limited`` for 429s...), looked up when the chart is drawn, so a
theme switch recolours it. When the source has no data the title says why (``no data since …``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from connectors.metrics import Series

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
}


def clock_ticks(times: Sequence[float], count: int = 5) -> tuple[list[float], list[str]]:
    """Positions (seconds before the last time) and HH:MM[:SS] labels for the x axis."""
    if not times:
        return [], []
    span = times[-1] - times[0]
    fmt = "%H:%M:%S" if span <= 600 else "%H:%M"
    picks = [times[round(i * (len(times) - 1) / max(1, count - 1))] for i in range(count)]
    return [t - times[-1] for t in picks], [time.strftime(fmt, time.localtime(t)) for t in picks]


class TimeChart(PlotextPlot):
    """Series over time: ``show(times, series, status)``; None values are left out of the line."""

    DEFAULT_CSS = """
    TimeChart { height: 1fr; min-height: 8; }
    """
    MARKER: ClassVar[str] = "hd"

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
        self._cache: tuple[tuple[int, int, int, str], RenderResult] | None = None

    def show(self, times: Sequence[float], series: Sequence[Series], status: str = "ok") -> None:
        new = (tuple(times), tuple(series), status)
        if new == (self._times, self._series, self._status):
            return  # drawing is the costly part: an idle gateway's chart changes once per step
        self._times, self._series, self._status = new
        self._draw()
        self.refresh()

    def render(self) -> RenderResult:
        # Plotext rebuilds the whole canvas on every render, and Textual renders on every layout
        # refresh: reuse the last drawing while size, data and theme are the same.
        key = (self.size.width, self.size.height, self._version, self.app.theme)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, super().render())
        return self._cache[1]

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._draw())
        self._draw()

    def _rgb(self, key: str) -> tuple[int, int, int]:
        variables = self.app.theme_variables
        value = variables.get(COLOR_VARIABLES.get(key, "foreground")) or variables.get("foreground", "white")
        return Color.parse(value).rgb

    def _draw(self) -> None:
        self._version += 1
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        title = self.chart_title if self._status == "ok" else f"{self.chart_title} — {self._status}"
        plt.title(title)
        plt.ylabel(self.unit)
        end = self._times[-1] if self._times else 0.0
        drawn = False
        for s in self._series:
            points = [(t - end, v) for t, v in zip(self._times, s.values, strict=False) if v is not None]
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            plt.plot(list(xs), list(ys), label=s.label, color=self._rgb(s.key), marker=self.MARKER)
            drawn = True
        if self._times:
            ticks, labels = clock_ticks(self._times)
            plt.xticks(ticks, labels)
            plt.xlim(self._times[0] - end, 0)
        if not drawn:
            plt.ylim(0, 1)
        else:
            plt.ylim(0, None)
