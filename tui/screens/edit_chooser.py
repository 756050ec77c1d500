"""``e``: choose what to edit on the route (weights, rate limit, CORS); refused kinds say why."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from connectors.base import EditKind

from ..editing import EDIT_KINDS, LABELS
from .base import ConsoleModal

KEYS: dict[EditKind, str] = {"weights": "w", "rate_limit": "r", "cors": "c"}


class EditChooser(ConsoleModal):
    DEFAULT_CSS = """
    EditChooser { align: center middle; }
    EditChooser > Vertical {
        width: 64; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    EditChooser #title { text-style: bold; padding: 0 0 1 0; }
    EditChooser OptionList { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel"),
        Binding("w", "choose('weights')", "Weights"),
        Binding("r", "choose('rate_limit')", "Rate limit"),
        Binding("c", "choose('cors')", "CORS"),
    ]

    def __init__(self, route: str, refusals: dict[EditKind, str | None]) -> None:
        super().__init__()
        self.route = route
        self.refusals = refusals

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.assemble("Edit route ", Content.styled(self.route, "bold $text-accent")), id="title"
            )
            options = []
            for kind in EDIT_KINDS:
                reason = self.refusals.get(kind)
                label = f"{KEYS[kind]}  {LABELS[kind].capitalize()}"
                prompt = (
                    Content.assemble(label, Content.styled(f"  ({reason})", "$text-muted"))
                    if reason
                    else label
                )
                options.append(Option(prompt, id=kind, disabled=bool(reason)))
            yield OptionList(*options)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_choose(event.option.id or "")

    def action_choose(self, kind: str) -> None:
        if kind not in EDIT_KINDS:
            return
        reason = self.refusals.get(kind)
        if reason:
            self.notify(reason, title=f"Cannot edit {LABELS[kind]}", severity="warning")
            return
        self.dismiss(kind)
