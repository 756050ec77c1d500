"""The only place the console reaches into Textual's private attributes (pinned: textual 8.2.8).

Textual has no public way to do these four things, and each is worth doing:

- ``mark_styled``: a view created for a mode starts with a stylesheet counter behind the app's, so
  Textual re-parses every stylesheet source when it is first shown (about a tenth of the console's
  start-up). Its widgets are styled as they mount anyway, so the screen is marked current.
- ``set_scroll_extent``: a new row count in a virtual table changes only the scrollbars; assigning
  ``virtual_size`` would also lay out the whole screen again (a repaint per keystroke of a filter).
- ``notifications``: the toasts the app holds, for tests that check what the operator was told.
- ``screen_text``: what the terminal shows, as plain text, for tests that read the screen while they
  wait on it; the public way (``export_screenshot``, an SVG to parse again) costs five times the CPU.

``tests/test_textual_compat.py`` exercises each one against the installed Textual and fails loudly
if an upgrade renames or removes what they use: fix them here, nowhere else.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.app import App
from textual.geometry import Size
from textual.notifications import Notification
from textual.screen import Screen
from textual.widget import Widget


def mark_styled(screen: Screen[Any]) -> Screen[Any]:
    """Mark a new view as styled with the current stylesheet (called while the app is active)."""
    screen._css_update_count = screen.app._css_update_count
    return screen


def set_scroll_extent(widget: Widget, size: Size) -> None:
    """Set ``widget``'s virtual size and update its scrollbars without a layout pass."""
    widget.set_reactive(type(widget).virtual_size, size)
    widget._refresh_scrollbars()
    widget._scroll_update(size)


def notifications(app: App[Any]) -> list[Notification]:
    """The notifications the app is showing (or has queued), oldest first."""
    return list(app._notifications)


def screen_text(app: App[Any]) -> str:
    """The text of every row of the terminal the app draws (the screen and the dimmed views under a
    modal one), as ``export_screenshot`` composes it, without colours."""
    width, height = app.size
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, color_system=None, safe_box=False
    )
    console.print(update)
    return console.export_text(styles=False)
