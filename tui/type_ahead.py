"""Keys typed ahead of a ``:`` command or a ``/`` filter's ⏎ go where the operator meant them.

tmux ``send-keys ':routes' Enter '/yet'`` delivers every key at once. Textual routes each key to the
focused widget when the app reads it, but the prompt handles its ⏎ later, in its own queue: the keys
behind the ⏎ would reach the prompt (hidden by then) or the old view, not the view the command opens.

So from a prompt's ⏎ the app holds every key (``KeyHold.hold``) until what the ⏎ started is done
(``release``: the new view mounted and focused, or the filter applied), then posts them again, in the
order typed. Keys arriving while those are replayed wait behind them. Keys held while a command asks
a question (quit? leave?) are dropped: nothing typed before a question was shown may answer it.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import App
from textual.timer import Timer

SAFETY_S = 2.0
"""Release anyway after this long, should the ⏎ start nothing that releases (keys never stay stuck)."""


class KeyHold:
    """The app's keys between a prompt's ⏎ and the end of what it started."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.active = False  # a ⏎ is being handled: every key waits
        self.held: list[events.Key] = []
        self._replaying = False  # held keys are on their way back: later keys wait behind them
        self._passing: list[events.Key] = []  # the replayed keys, let through once
        self._safety: Timer | None = None

    def intercept(self, event: events.Key) -> bool:
        """True when ``event`` is held (the app must not handle it now)."""
        passing = any(event is key for key in self._passing)
        if passing:
            self._passing = [key for key in self._passing if key is not event]
        if self.active or (self._replaying and not passing):
            self.held.append(event)
            return True
        return False

    def hold(self) -> None:
        self.active = True
        if self._safety is not None:
            self._safety.stop()
        self._safety = self.app.set_timer(SAFETY_S, self.release)

    def release(self, *, drop: bool = False) -> None:
        """What the ⏎ started is done: replay the held keys (``drop``: forget them)."""
        if not self.active:
            return
        self.active = False
        if self._safety is not None:
            self._safety.stop()
            self._safety = None
        if drop:
            self.held.clear()
        self._replay()

    def _replay(self) -> None:
        if not self.held:
            self._replaying = False
            return
        keys, self.held = self.held, []
        self._replaying = True
        for key in keys:
            again = events.Key(key.key, key.character)
            self._passing.append(again)
            self.app.post_message(again)
        self.app.call_later(self._replayed)

    def _replayed(self) -> None:
        """The replayed keys were handled; replay what arrived meanwhile, unless a new ⏎ holds it."""
        if not self.active:
            self._replay()
