"""The footer: the keys of the current screen on one line, like k9s' hint bar.

Textual's ``Footer`` mounts a widget per key and recomposes them whenever focus moves; on the routes
view that was a third of the console's own start-up. The hints here are one line of text, redrawn
(not recomposed) when the screen's bindings change; a click on a hint presses its key.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.widget import Widget

PALETTE_HINT = "palette"


class KeyHints(Widget):
    """The shown bindings of the screen (one per action, disabled ones dimmed), and the command
    palette's key at the right edge."""

    DEFAULT_CSS = """
    KeyHints {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """
    KEY_STYLE: ClassVar[str] = "bold $footer-key-foreground"
    DISABLED_STYLE: ClassVar[str] = "dim"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) of each hint as last drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def hints(self) -> list[tuple[str, str, str, bool]]:
        """(key as shown, description, key to press, enabled) of each hint, in binding order."""
        seen: set[str] = set()
        out = []
        for _namespace, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            out.append((self.app.get_key_display(binding), binding.description, binding.key, enabled))
        return out

    def render(self) -> Content:
        key_style = self.KEY_STYLE
        parts: list[Content] = []
        spans: list[tuple[int, int, str]] = []
        x = 0
        for shown, description, key, enabled in self.hints():
            hint = Content.assemble(" ", (shown, key_style), " ", description, " ")
            if not enabled:
                hint = hint.stylize(self.DISABLED_STYLE)
            spans.append((x, x + hint.cell_length, key))
            x += hint.cell_length
            parts.append(hint)
        if self.app.ENABLE_COMMAND_PALETTE:
            palette_key = self.app.get_key_display(Binding(self.app.COMMAND_PALETTE_BINDING, ""))
            palette = Content.assemble("▏ ", (palette_key, key_style), " ", PALETTE_HINT, " ")
            gap = self.size.width - x - palette.cell_length
            if gap >= 1:
                spans.append((x + gap, self.size.width, self.app.COMMAND_PALETTE_BINDING))
                parts += [Content(" " * gap), palette]
        self._spans = spans
        return Content.assemble(*parts)

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key.split(",")[0])
                return
