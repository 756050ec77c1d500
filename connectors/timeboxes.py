"""Time boxes: changes that revert themselves when their time is up, kept in a JSON file.

``FileTimeBoxes`` is a ``RevertScheduler`` (``connectors.base``) for a connector whose gateway has a
state folder (native): the boxes survive restarts and any process can carry them out. It only
keeps them: ``connectors.change.timebox.revert_expired`` claims the due ones (``claim_due``), reverts
each through the change pipeline and settles it (``settle``). A claim older than ``CLAIM_S`` (its
process died mid-revert) is claimed again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from .errors import NotFound, PermissionDenied, Problem, ValidationError
from .model.durations import format_duration, parse_duration

MAX_FOR_S = 7 * 86400.0
"""The longest time box: a change meant to last longer is a plain change."""
Status = Literal["pending", "reverting", "reverted", "needs-decision", "undone", "dismissed"]
CLAIM_S = 120.0
"""A revert claimed longer ago than this was abandoned (its process died): claim it again."""


def for_problem(seconds: float) -> str | None:
    """Why ``seconds`` cannot be a time box, or None."""
    if seconds <= 0:
        return "the time box must end in the future (e.g. 10m)"
    if seconds > MAX_FOR_S:
        return f"at most {format_duration(MAX_FOR_S)} (7 days); for longer, make a plain change"
    return None


def parse_for(text: str) -> float:
    """A time box's length as typed (``15m``, ``1h``) in seconds; ValueError saying why it cannot
    be one (not a duration, not in the future, beyond ``MAX_FOR_S``). ``--for`` and the diff's
    time-box field both read it so."""
    seconds = parse_duration(text)
    reason = for_problem(seconds)
    if reason:
        raise ValueError(reason)
    return seconds


def promise(start: float, seconds: float) -> str:
    """``reverts by itself at 14:32:05 (in 15m)``: what a time box of ``seconds`` from ``start``
    promises, as the CLI and the console say it."""
    at = time.strftime("%H:%M:%S", time.localtime(start + seconds))
    return f"reverts by itself at {at} (in {format_duration(seconds)})"


def refuse_box(plan: Any, after_s: float) -> None:
    """Raise ValidationError (on ``for``) or PermissionDenied when ``plan`` (a
    ``connectors.base.Plan``) cannot be time-boxed for ``after_s`` seconds: checked before anything
    is applied."""
    reason = for_problem(after_s)
    if reason:
        raise ValidationError([Problem("for", reason)])
    if any(not c.before.backends for c in plan.changes):
        raise PermissionDenied("a change that adds a route cannot be time-boxed")


@dataclass
class TimeBox:
    """One time-boxed change: what it did (routes before/after), which aspects, and when it ends."""

    id: str  # the history entry of the change
    gateway: str
    description: str
    routes: list[str]
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    due: float
    seconds: float
    status: Status = "pending"
    reason: str = ""
    revert_id: str = ""
    user: str = ""
    tries: int = 0
    claimed: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.due - (time.time() if now is None else now))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimeBox:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def box_for(result: Any, after_s: float) -> TimeBox:
    """The time box of an applied change (``connectors.base.ApplyResult``) reverting after
    ``after_s`` seconds; ValidationError / PermissionDenied when it cannot be one."""
    refuse_box(result.plan, after_s)
    entry = result.entry
    return TimeBox(
        id=entry.id,
        gateway=entry.gateway,
        description=entry.description,
        routes=list(entry.routes),
        before=list(entry.before),
        after=list(entry.after),
        due=entry.time + after_s,
        seconds=after_s,
        user=entry.user,
    )


class FileTimeBoxes:
    """A RevertScheduler keeping its time boxes in ``path`` (written atomically, under a lock)."""

    def __init__(self, path: Path, unattended: Callable[[], str] | None = None) -> None:
        self.path = path
        self._unattended = unattended  # who carries the boxes out is the connector's to say

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[TimeBox]]:
        """The boxes, locked against other processes; saved again when the block ends normally."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            boxes = self._read()
            yield boxes
            self._write(boxes)
        finally:
            os.close(fd)

    def _read(self) -> list[TimeBox]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except ValueError:
            return []  # a torn file cannot happen (atomic writes); an edited one is not ours
        return [TimeBox.from_json(d) for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def _write(self, boxes: list[TimeBox]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump([asdict(b) for b in boxes], fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    # -- RevertScheduler ---------------------------------------------------------------------

    def schedule(self, connector: Any, result: Any, after_s: float) -> None:
        """Keep a box for ``result`` (a ``connectors.base.ApplyResult``; typed loosely: this floor
        sits below the interface)."""
        box = box_for(result, after_s)
        with self._locked() as boxes:
            boxes.append(box)

    def boxes(self) -> list[TimeBox]:
        return self._read()

    def claim_due(self, now: float | None = None) -> list[TimeBox]:
        """The pending boxes whose time is up (and abandoned claims), marked as being reverted by
        the caller, who must ``settle`` each."""
        now = time.time() if now is None else now
        claimed = []
        with self._locked() as boxes:
            for i, box in enumerate(boxes):
                stale = box.status == "reverting" and now - box.claimed > CLAIM_S
                if (box.status == "pending" and box.due <= now) or stale:
                    boxes[i] = replace(box, status="reverting", claimed=now)
                    claimed.append(boxes[i])
        return claimed

    def settle(self, box: TimeBox) -> None:
        """Record how a claimed box ended (``pending`` again: try later)."""
        with self._locked() as boxes:
            for i, b in enumerate(boxes):
                if b.id == box.id:
                    boxes[i] = box

    def unattended(self) -> str:
        """Why a due box would not be reverted by itself now, or ''."""
        return self._unattended() if self._unattended is not None else ""


def overdue(box: TimeBox, now: float) -> float:
    """How long a box that still waits for its revert is past its time (0: not yet, or settled)."""
    return max(0.0, now - box.due) if box.status in ("pending", "reverting") else 0.0


def reverts_at(box: TimeBox, now: float) -> str:
    """``14:32:05 (in 4m)``, ``14:32:05 (overdue by 12s)`` while the box waits, else the clock time
    it was due: what ``revert-expired --list`` shows."""
    at = time.strftime("%H:%M:%S", time.localtime(box.due))
    if box.status not in ("pending", "reverting"):
        return at
    late = overdue(box, now)
    if late > 0:
        return f"{at} (overdue by {format_duration(max(1, round(late)))})"
    return f"{at} (in {format_duration(max(1, round(box.due - now)))})"


def dismiss(scheduler: Any, change_id: str, user: str) -> TimeBox:
    """Keep a change whose revert needs a decision as it is: its box (by change id, or a unique
    prefix of it) is settled as ``dismissed`` and no longer reported. ``scheduler`` is a
    ``connectors.base.RevertScheduler``. NotFound / ValidationError saying why not."""
    boxes: list[TimeBox] = scheduler.boxes()
    found = [b for b in boxes if b.id == change_id] or [b for b in boxes if b.id.startswith(change_id)]
    if not change_id or not found:
        raise NotFound(f"no time box of change {change_id!r} (see: gatewayctl-tui revert-expired --list)")
    if len(found) > 1:
        raise ValidationError(
            [Problem("dismiss", f"{change_id!r} names {len(found)} time boxes; give more of it")]
        )
    box = found[0]
    if box.status != "needs-decision":
        raise ValidationError(
            [
                Problem(
                    "dismiss",
                    f"time box {box.id} is {box.status}; only one that needs a decision can be dismissed",
                )
            ]
        )
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    done = replace(
        box,
        status="dismissed",
        reason=f"kept as it is: dismissed by {user or 'someone'} at {when} ({box.reason})",
    )
    scheduler.settle(done)
    return done
