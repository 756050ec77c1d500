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

from .base import ConsoleModal
from .editors import BY_KIND, EDITORS


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
        Binding("escape", "close", "Cancel", id="dialog.close"),
        *(
            Binding(
                spec.key,
                f"choose('{spec.kind}')",
                spec.label[:1].upper() + spec.label[1:],
                id=f"chooser.{spec.kind}",
            )
            for spec in EDITORS
        ),
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
            for spec in EDITORS:
                kind = spec.kind
                reason = self.refusals.get(kind)
                label = f"{spec.key}  {spec.label.capitalize()}"
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
        spec = BY_KIND.get(kind)
        if spec is None:
            return
        reason = self.refusals.get(spec.kind)
        if reason:
            self.notify(reason, title=f"Cannot edit {spec.label}", severity="warning")
            return
        self.dismiss(spec.kind)
