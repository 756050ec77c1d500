"""A one-line bar showing how traffic splits between a route's backends."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


def split_cells(shares: list[float], width: int) -> list[int]:
    """Cells per share so they add up to ``width`` exactly (largest remainders get the spare cells);
    a non-zero share always gets at least one cell when there is room."""
    total = sum(shares)
    if width <= 0 or total <= 0:
        return [0] * len(shares)
    exact = [s * width / total for s in shares]
    cells = [int(x) for x in exact]
    for i, share in enumerate(shares):
        if share > 0 and cells[i] == 0:
            cells[i] = 1
    spare = width - sum(cells)
    order = sorted(range(len(shares)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while spare > 0 and order:
        cells[order[i % len(order)]] += 1
        spare -= 1
        i += 1
    while spare < 0:
        biggest = max(range(len(cells)), key=lambda j: cells[j])
        cells[biggest] -= 1
        spare += 1
    return cells


class WeightBar(Widget):
    """Each backend gets a run of cells proportional to its weight, labelled when it fits."""

    DEFAULT_CSS = """
    WeightBar { height: 1; }
    WeightBar > .weight-bar--a { background: $weight-a; color: $background; text-style: bold; }
    WeightBar > .weight-bar--b { background: $weight-b; color: $background; text-style: bold; }
    WeightBar > .weight-bar--empty { background: $panel; color: $text-muted; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"weight-bar--a", "weight-bar--b", "weight-bar--empty"}

    weights: reactive[tuple[tuple[str, int], ...]] = reactive(())
    """(backend, weight) pairs, in the route's order."""
    note: reactive[str] = reactive("")
    """Shown instead of the bar when set: the split being edited is not a valid one (a bar drawn
    from invalid weights would show a split the gateway could never serve)."""
    picked: reactive[int | None] = reactive(None)
    """The backend a form's keys act on: its run of cells is marked."""

    def __init__(
        self,
        weights: tuple[tuple[str, int], ...] = (),
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(WeightBar.weights, weights)

    def render(self) -> Text:
        width = self.size.width
        if self.note:
            style = self.get_component_rich_style("weight-bar--empty")
            return Text(f" {self.note}".ljust(width)[:width], style=style)
        shares = [float(max(0, w)) for _, w in self.weights]
        total = sum(shares)
        if total <= 0:
            style = self.get_component_rich_style("weight-bar--empty")
            return Text(" no traffic: every weight is 0".ljust(width)[:width], style=style)
        text = Text()
        for i, ((name, _), cells) in enumerate(zip(self.weights, split_cells(shares, width), strict=True)):
            if cells == 0:
                continue
            style = self.get_component_rich_style("weight-bar--a" if i % 2 == 0 else "weight-bar--b")
            pct = 100 * shares[i] / total
            mark = "▸" if i == self.picked else " "
            label = f"{mark}{name} {pct:.0f}%"
            if len(label) > cells:
                label = f"{mark}{pct:.0f}%" if len(f"{mark}{pct:.0f}%") <= cells else mark[:cells]
            if i == self.picked:
                style = style + Style(underline=True)
            text.append(label.ljust(cells), style=style)
        return text
