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


def percent_text(share: float, total: float) -> str:
    pct = 100 * share / total
    return "<1%" if 0 < pct < 0.5 else f"{pct:.0f}%"


MIN_NAME = 4  # a shortened name keeps 3 characters and "…": enough to tell backends apart


_SEPARATORS = "-_./:"


def distinct_cores(names: list[str]) -> list[str]:
    """Each name without the words all the names share at their start and end (``checkout-stable-eu``,
    ``checkout-canary-eu`` → ``stable``, ``canary``): the part that tells them apart."""
    if len(names) < 2:
        return list(names)
    cores = list(names)
    prefix = _common(names)
    cut = max((i + 1 for i, c in enumerate(prefix) if c in _SEPARATORS), default=0)
    suffix = _common([n[::-1] for n in names])
    tail = max((i + 1 for i, c in enumerate(suffix) if c in _SEPARATORS), default=0)
    cores = [n[cut : len(n) - tail] for n in names]
    return cores if all(cores) and len(set(cores)) == len(cores) else list(names)


def _common(names: list[str]) -> str:
    shortest = min(names, key=len)
    for i, c in enumerate(shortest):
        if any(n[i] != c for n in names):
            return shortest[:i]
    return shortest


def fit_label(
    name: str, pct: str, room: int, *, core: str | None = None, cap: int | None = None, named: bool = True
) -> str:
    """``name pct`` in at most ``room`` cells: the whole name (within ``cap`` characters), else its
    distinct ``core``, else the core shortened with … (never below MIN_NAME characters, so it still
    says which backend), else (unless ``named``) the percentage alone."""
    core = core or name
    fits = [form for form in (name, core) if cap is None or len(form) <= cap]
    longest = min(len(core) - 1, cap or len(core))
    forms = fits + [core[: keep - 1] + "…" for keep in range(longest, MIN_NAME - 1, -1)]
    for shown in forms:
        if len(shown) + 1 + len(pct) <= room:
            return f"{shown} {pct}"
    return pct if not named and len(pct) <= room else ""


def bar_texts(names: list[str], pcts: list[str], cells: list[int], picked: int | None) -> list[str]:
    """The text on each backend's run of cells: its own label when it fits there; a backend too thin
    for its label is named on a neighbour's run with an arrow toward it ("v2 1% →", "← v0 1%"), so
    every backend is labelled, a 1 % canary included. Names are shortened (…) until all fit."""
    texts: list[str] = []
    for cap in (None, 12, 6, MIN_NAME):
        texts, complete = _bar_texts(names, pcts, cells, picked, cap)
        if complete:
            break
    return texts


def _bar_texts(
    names: list[str], pcts: list[str], cells: list[int], picked: int | None, cap: int | None
) -> tuple[list[str], bool]:
    count = len(names)
    cores = distinct_cores(names)
    own = [fit_label(names[i], pcts[i], cells[i] - 1, core=cores[i], cap=cap) for i in range(count)]
    before: list[list[str]] = [[] for _ in range(count)]  # labels of thin backends to the left
    after: list[list[str]] = [[] for _ in range(count)]  # ... and to the right
    free = [cells[i] - 1 - len(own[i]) - (1 if own[i] else 0) for i in range(count)]
    complete = True
    for i in (i for i in range(count) if not own[i] and cells[i] > 0):
        hosts = sorted((j for j in range(count) if j != i and own[j]), key=lambda j: (abs(j - i), -free[j]))
        for j in hosts:
            label = fit_label(names[i], pcts[i], free[j] - 3, core=cores[i], cap=cap)
            if label:
                (after if j < i else before)[j].append(f"{label} →" if j < i else f"← {label}")
                free[j] -= len(label) + 3
                break
        else:
            complete = False
            own[i] = fit_label(names[i], pcts[i], cells[i] - 1, named=False)  # at least its share
    texts = []
    for i in range(count):
        mark = "▸" if i == picked else " "
        head = " ".join([*before[i], own[i]]).strip()
        tail = " ".join(after[i])
        room = cells[i] - 1 - len(head)
        texts.append((mark + head + tail.rjust(room))[: cells[i]] if cells[i] else "")
    return texts, complete


class WeightBar(Widget):
    """Each backend gets a run of cells proportional to its weight, labelled with its name and share;
    one too thin for its label is named on the neighbouring run, with an arrow toward it."""

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
        cells = split_cells(shares, width)
        names = [name for name, _ in self.weights]
        texts = bar_texts(names, [percent_text(s, total) for s in shares], cells, self.picked)
        text = Text()
        for i, run in enumerate(texts):
            if not run:
                continue
            style = self.get_component_rich_style("weight-bar--a" if i % 2 == 0 else "weight-bar--b")
            if i == self.picked:
                style = style + Style(underline=True)
            text.append(run, style=style)
        return text
