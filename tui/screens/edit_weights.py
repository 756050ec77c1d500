"""Shift traffic between a route's backends: keys in steps of 5 and 1, presets, typed weights."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from connectors.errors import Problem
from connectors.model import Route, WeightedBackend, weight_problems
from connectors.model.edits import PRESETS, apply_preset, shift_weight
from connectors.model.validate import MAX_RELATIVE_WEIGHT

from ..route_rows import backends_text
from ..widgets.form_input import FormInput
from ..widgets.weight_bar import WeightBar
from .edit_base import EditorScreen, FieldError

FORM_PRESETS = ("90/10", "50/50", "0/100", "100/0")  # a canary's way forward, then back
_BACKEND_PATH = re.compile(r"\.backends\[(\d+)\]")


class WeightPicker(WeightBar):
    """The bar, focusable: while it has focus, ``↑``/``↓`` pick a backend and ``+ - ] [ p`` move
    weight; a digit starts typing the picked backend's weight."""

    can_focus = True
    DEFAULT_CSS = """
    WeightPicker { border: none; }
    WeightPicker:focus { text-style: bold; }
    """


def next_preset(route: Route) -> int:
    """Index in FORM_PRESETS of the preset after the route's split: the one after it when the split
    is a preset (90/10 → 50/50), else the first that moves more traffic to the second backend."""
    split = tuple(b.weight for b in route.backends)
    for i, preset in enumerate(FORM_PRESETS):
        if PRESETS[preset] == split:
            return (i + 1) % len(FORM_PRESETS)
    second = split[1] if len(split) == 2 else 0
    ahead = [i for i, p in enumerate(FORM_PRESETS) if PRESETS[p][1] > second]
    return min(ahead, key=lambda i: PRESETS[FORM_PRESETS[i]][1]) if ahead else FORM_PRESETS.index("100/0")


class WeightsEditor(EditorScreen):
    VIEW = "edit weights"
    KIND = "weights"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not priority: a focused weight field takes every key it can hold (+ and - included).
        Binding("plus,equals_sign", "shift(5)", "+5", key_display="+", id="weights.plus_5"),
        Binding("minus", "shift(-5)", "-5", key_display="-", id="weights.minus_5"),
        Binding("right_square_bracket", "shift(1)", "+1", key_display="]", id="weights.plus_1"),
        Binding("left_square_bracket", "shift(-1)", "-1", key_display="[", id="weights.minus_1"),
        Binding("p", "next_preset", "Preset", id="weights.preset"),
        Binding("up", "pick(-1)", "Previous backend", show=False, id="weights.previous_backend"),
        Binding("down", "pick(1)", "Next backend", show=False, id="weights.next_backend"),
    ]
    DEFAULT_CSS = """
    WeightsEditor WeightBar { margin: 0 0 1 0; }
    WeightsEditor .weight { width: 12; }
    WeightsEditor .was { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    WeightsEditor #presets { height: auto; }
    WeightsEditor #presets Button { min-width: 10; margin: 0 1 0 0; }
    """

    def __init__(self, route: Route) -> None:
        super().__init__(route)
        self.selected = len(route.backends) - 1 if len(route.backends) == 2 else 0
        self.refused: dict[int, str] = {}  # field index -> why its last key was refused

    def compose_form(self) -> ComposeResult:
        yield WeightPicker(id="bar")
        for i, backend in enumerate(self.original.backends):
            with Horizontal(classes="row"):
                yield Label(backend.name, classes="label")
                # Digits only: a weight is never negative, so '-' is refused (and said), not typed.
                yield FormInput(
                    str(backend.weight), type="integer", restrict=r"\d*", id=f"weight-{i}", classes="weight"
                )
                yield Static(f"was {backend.weight}", id=f"was-{i}", classes="was")
            yield FieldError(id=f"error-weight-{i}")
        yield FieldError(id="error-sum")
        if len(self.original.backends) == 2:
            with Horizontal(id="presets"):
                for preset in FORM_PRESETS:
                    yield Button(preset, id=f"preset-{preset.replace('/', '-')}", compact=True)
        yield Static("", id="pick-hint", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#bar", WeightPicker).focus()
        self._show_pick()

    def _show_pick(self) -> None:
        name = self.original.backends[self.selected].name
        self.query_one("#bar", WeightPicker).picked = self.selected
        self.query_one("#pick-hint", Static).update(
            Content.assemble(
                "on the bar: ↑↓ pick (",
                Content.styled(name, "bold"),
                ") · + - move 5 points to it · ] [ move 1 · p next preset · a digit types its weight"
                " (a field replaces its value; ⏎ back to the bar)",
            )
        )

    def on_key(self, event: events.Key) -> None:
        """A digit on the bar starts typing the picked backend's weight (replacing it). Digits typed
        at once ("50" from tmux) were all routed to the bar before the first moved the focus: a digit
        that reaches the form while a weight field has focus came that way, and goes on in the field."""
        character = event.character
        if character is None or not character.isdigit():
            return
        focused = self.focused
        if isinstance(focused, WeightPicker):
            event.stop()
            self.query_one(f"#weight-{self.selected}", FormInput).type_first(character)
        elif isinstance(focused, FormInput) and focused.has_class("weight"):
            event.stop()
            focused.insert_text_at_cursor(character)

    @on(Input.Submitted, ".weight")
    def _weight_submitted(self) -> None:
        self.query_one("#bar", WeightPicker).focus()

    def load(self, route: Route) -> None:
        for i, backend in enumerate(route.backends):
            self.query_one(f"#weight-{i}", Input).value = str(backend.weight)

    def action_reload(self) -> None:
        """Start over from the gateway's weights, unless its backends are no longer the form's rows."""
        current = next((r for r in self.console.routes if r.name == self.original.name), self.original)
        names = [b.name for b in current.backends]
        if names != [b.name for b in self.original.backends]:
            self.notify(
                f"Route {current.name} now has backends {', '.join(names)}: close the form (esc) and open"
                " it again to edit them.",
                severity="warning",
            )
            return
        super().action_reload()
        for i, backend in enumerate(self.original.backends):  # the new base (load also sets edits)
            self.query_one(f"#was-{i}", Static).update(f"was {backend.weight}")

    def _typed(self) -> tuple[list[int | None], list[Problem]]:
        weights: list[int | None] = []
        problems = []
        for i, _ in enumerate(self.original.backends):
            text = self.query_one(f"#weight-{i}", Input).value.strip()
            try:
                weights.append(int(text))
            except ValueError:
                weights.append(None)
                problems.append(Problem(f"route.backends[{i}].weight", "type a whole number"))
        return weights, problems

    def build(self) -> tuple[Route | None, list[Problem]]:
        weights, problems = self._typed()
        if problems:
            return None, problems
        backends = tuple(
            WeightedBackend(b.name, w if w is not None else 0)
            for b, w in zip(self.original.backends, weights, strict=True)
        )
        route = replace(self.original, backends=backends)
        problems = weight_problems(route, "route")
        if route.weight_mode == "percent":
            problems += [
                Problem(f"route.backends[{i}].weight", f"at most 100 in percent mode, got {b.weight}")
                for i, b in enumerate(backends)
                if b.weight > 100
            ]
        return route, problems

    def field_for(self, path: str) -> str:
        match = _BACKEND_PATH.search(path)
        if match:
            return f"error-weight-{match.group(1)}"
        return "error-sum" if path.endswith(".backends") else "error-general"

    @on(FormInput.Refused, ".weight")
    def _weight_refused(self, event: FormInput.Refused) -> None:
        """A key a weight cannot hold: one line under the field, naming it and the range."""
        index = int((event.field.id or "weight-0").rsplit("-", 1)[1])
        name = self.original.backends[index].name
        top = 100 if self.original.weight_mode == "percent" else MAX_RELATIVE_WEIGHT
        why = "a weight cannot be negative" if event.character == "-" else "whole numbers only"
        self.refused[index] = f"{name} weight must be 0..{top:,}: {event.character!r} refused ({why})"
        self.revalidate()

    def revalidate(self) -> None:
        super().revalidate()
        for index, note in self.refused.items():
            field = f"error-weight-{index}"
            problems = [p.message for p in self.problems if self.field_for(p.path) == field]
            self.query_one(f"#{field}", FieldError).show([*problems, note])
        bar = self.query_one("#bar", WeightPicker)
        if self.candidate is None or self.problems:
            bar.note = "✖ not a valid split: fix the weights below (the bar shows only valid splits)"
        else:
            bar.note = ""
            bar.weights = tuple((b.name, b.weight) for b in self.candidate.backends)

    def describe(self, route: Route) -> str:
        return backends_text(route)

    def invalid_names(self, problems: list[Problem]) -> list[str]:
        """A weight by its backend ("v1 weight"); the split as a whole only when no weight is wrong
        by itself (999 in percent mode also breaks the sum, but the field to fix is v1's)."""
        names: list[str] = []
        for problem in problems:
            match = _BACKEND_PATH.search(problem.path)
            if match:
                names.append(f"{self.original.backends[int(match.group(1))].name} weight")
        return list(dict.fromkeys(names)) or ["split"]

    @on(Input.Changed, ".weight")
    def _weight_typed(self, event: Input.Changed) -> None:
        if self.focused is not event.input:
            # A value the form set itself (a shift, a preset, the other field taking the rest) comes
            # back here later as a message (so no flag set around the assignment can catch it): it
            # must not move the selection to that field. (The screen's focus, set at once, not the
            # field's has_focus, which lags behind digits typed at once.)
            return
        index = int((event.input.id or "weight-0").rsplit("-", 1)[1])
        self.refused.pop(index, None)  # typed again: the refusal is old news
        self.selected = index
        self._show_pick()
        # Two backends in percent mode: the other one takes the rest, so the sum stays 100.
        if len(self.original.backends) == 2 and self.original.weight_mode == "percent":
            try:
                value = int(event.value)
            except ValueError:
                value = -1
            if 0 <= value <= 100:
                self.query_one(f"#weight-{1 - index}", Input).value = str(100 - value)
        self.revalidate()

    def on_descendant_focus(self) -> None:
        focused = self.focused
        if isinstance(focused, Input) and focused.id and focused.id.startswith("weight-"):
            self.selected = int(focused.id.rsplit("-", 1)[1])
            self._show_pick()

    def _set_route(self, route: Route) -> None:
        self.refused.clear()
        self.load(route)
        self.revalidate()

    def action_shift(self, delta: int) -> None:
        base = self.candidate
        if base is None:
            self.notify("Fix the weights first (type whole numbers).", severity="warning", timeout=3)
            return
        if base.weight_mode != "percent":
            backend = base.backends[self.selected]
            weights = [max(0, b.weight + (delta if b is backend else 0)) for b in base.backends]
            self._set_route(
                replace(
                    base,
                    backends=tuple(
                        WeightedBackend(b.name, w) for b, w in zip(base.backends, weights, strict=True)
                    ),
                )
            )
            return
        if sum(b.weight for b in base.backends) != 100:
            self.notify("The weights must sum to 100 before shifting.", severity="warning", timeout=3)
            return
        self._set_route(shift_weight(base, base.backends[self.selected].name, delta))

    def action_pick(self, step: int) -> None:
        """Pick the next backend; in a weight field, move to that backend's field."""
        count = len(self.original.backends)
        self.selected = (self.selected + step) % count
        self._show_pick()
        if isinstance(self.focused, Input):
            self.query_one(f"#weight-{self.selected}", Input).focus()

    def action_next_preset(self) -> None:
        if len(self.original.backends) != 2:
            self.notify("Presets apply to routes with two backends.", severity="warning", timeout=3)
            return
        self.apply_preset(FORM_PRESETS[next_preset(self.candidate or self.original)])

    def apply_preset(self, preset: str) -> None:
        assert preset in PRESETS
        self._set_route(apply_preset(self.original, preset))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        if button_id.startswith("preset-"):
            preset = button_id.removeprefix("preset-").replace("-", "/")
            self.apply_preset(preset)
        else:
            super().on_button_pressed(event)
