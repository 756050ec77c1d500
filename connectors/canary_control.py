"""The controls of a canary run, safe from any thread: pause and resume its clock, abort (all
traffic back to stable), promote (all to the canary), or cancel (stop stepping, weights left as they
are). While ``run()`` goes in its own thread, abort/promote/cancel are requests it carries out at its
next check (``_handle_request``); otherwise they are carried out at once by the caller."""

from __future__ import annotations

import threading
from typing import Literal

from .base import Connector
from .canary_events import FINAL, EventKind, State


class RunControl:
    connector: Connector

    def __init__(self, weight: int) -> None:
        self._cond = threading.Condition()
        self._state: State = "ready"
        self._step = -1
        self._weight = weight
        self._request: Literal["abort", "promote", "cancel", "leave"] | None = None
        self.interrupted = False  # stopped by ``leave()``: its state file kept for --resume/--abort
        self._runner: threading.Thread | None = None

    # -- where the run is ---------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def step(self) -> int:
        return self._step

    @property
    def weight(self) -> int:
        return self._weight

    # -- control (any thread) ----------------------------------------------------------------------

    def pause(self) -> None:
        with self._cond:
            if self._state != "running":
                return
            self._state = "paused"
            self._cond.notify_all()
        self._note("paused", "paused: the step clock is stopped")

    def resume(self) -> None:
        """Go on: after a pause the clock runs again; after a hold the run carries on at once (a hold
        for low traffic goes to the next step; a hold for a gate judges the step afresh)."""
        with self._cond:
            if self._state not in ("paused", "held"):
                return
            self._state = "running"
            self._cond.notify_all()
        self._note("resumed", f"resumed by {self.connector.user}")

    def abort(self) -> None:
        """All traffic back to stable. From another thread while ``run()`` is going, the run does it."""
        self._control("abort")

    def promote(self) -> None:
        """All traffic to the canary."""
        self._control("promote")

    def cancel(self) -> None:
        """Stop stepping and leave the weights as they are (the screen was closed)."""
        with self._cond:
            if self._runner is not None and self._state not in FINAL:
                self._request = "cancel"
                self._cond.notify_all()

    def leave(self) -> None:
        """Stop stepping and keep the run's state, left for ``--resume`` / ``--abort`` (a command
        interrupted by a signal). Safe from a signal handler on the run's own thread (an RLock)."""
        with self._cond:
            if self._state not in FINAL:
                self._request = "leave"
                self._cond.notify_all()

    def _control(self, what: Literal["abort", "promote"]) -> None:
        with self._cond:
            if self._state in FINAL:
                return
            if self._runner is not None and self._runner is not threading.current_thread():
                self._request = what
                self._cond.notify_all()
                return
        self._finish(what, f"{what} requested by {self.connector.user}")

    def _handle_request(self) -> bool:
        """Carry out an abort/promote/cancel asked for from another thread; True when the run ends."""
        with self._cond:
            request, self._request = self._request, None
        if request is None:
            return self._state in FINAL
        if request == "leave":
            self._leave()
        elif request == "cancel":
            self._set_final("cancelled", f"stopped; weights left at {self._weight}% canary")
        else:
            self._finish(request, f"{request} requested by {self.connector.user}")
        return True

    # -- what the run does (CanaryRun) ----------------------------------------------------------------

    def _finish(self, what: Literal["abort", "promote"], reason: str) -> None:
        raise NotImplementedError

    def _set_final(self, state: State, message: str) -> None:
        raise NotImplementedError

    def _note(self, kind: EventKind, message: str) -> None:
        raise NotImplementedError

    def _leave(self) -> None:
        raise NotImplementedError
