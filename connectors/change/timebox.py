"""Time-boxed changes: a change that reverts itself when its time is up, through the same pipeline.

``FileTimeBoxes`` is a ``RevertScheduler`` that keeps its time boxes in a JSON file (a native
gateway's state folder, so they survive restarts and any process can carry them out).
``run_due(connector)`` reverts the ones whose time is up: the aspects the change edited (weights,
rate limit, CORS, deny rules) go back to what they were, planned and applied by ``Change`` like any
change and recorded in the history as an undo of it. A revert is never forced: when someone edited
those aspects meanwhile, the time box is marked *needs a decision* with the reason and left alone.
A revert that fails for a passing reason (Envoy restarting) stays due and is tried again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ChangeConflict, GatewayError, NotFound, PermissionDenied, Problem, ValidationError
from ..model import Route, route_from_dict
from ..model.durations import format_duration
from .rebase import FIELDS, LABELS

if TYPE_CHECKING:
    from ..base import ApplyResult, Connector

MAX_FOR_S = 7 * 86400.0
"""The longest time box: a change meant to last longer is a plain change."""
Status = Literal["pending", "reverted", "needs-decision", "undone"]
_FIELDS: dict[str, tuple[str, ...]] = {str(k): v for k, v in FIELDS.items()}
_LABELS: dict[str, str] = {str(k): v for k, v in LABELS.items()}
_PASSING = (ChangeConflict, PermissionDenied)  # re-plan next time (file raced, read-only for now)


def for_problem(seconds: float) -> str | None:
    """Why ``seconds`` cannot be a time box, or None."""
    if seconds <= 0:
        return "the time box must end in the future (e.g. --for 10m)"
    if seconds > MAX_FOR_S:
        return f"at most {format_duration(MAX_FOR_S)} (7 days); for longer, make a plain change"
    return None


@dataclass
class TimeBox:
    """One time-boxed change: what it did (routes before/after), which aspects, and when it ends."""

    id: str  # the history entry of the change
    gateway: str
    description: str
    routes: list[str]
    kinds: list[str]  # edited aspects (rebase.FIELDS keys), or ["route"] for the whole route
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    due: float
    seconds: float
    status: Status = "pending"
    reason: str = ""
    revert_id: str = ""
    user: str = ""
    tries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.due - (time.time() if now is None else now))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimeBox:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def edited_kinds(before: Route, after: Route) -> list[str]:
    """The aspects an edit changed; ``route`` when it changed something no aspect covers."""
    kinds: list[str] = [
        k for k, fs in _FIELDS.items() if any(getattr(before, f) != getattr(after, f) for f in fs)
    ]
    covered = {f for k in kinds for f in _FIELDS[k]}
    rest = [f.name for f in fields(Route) if f.name not in covered and f.name != "source"]
    if any(getattr(before, f) != getattr(after, f) for f in rest):
        return ["route"]
    return kinds


def _fields_of(kinds: list[str]) -> list[str]:
    if "route" in kinds:
        return [f.name for f in fields(Route) if f.name not in ("name", "source")]
    return [f for k in kinds for f in _FIELDS.get(k, ())]


class FileTimeBoxes:
    """A RevertScheduler keeping its time boxes in ``path`` (written atomically, under a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

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

    def schedule(self, connector: Connector, result: ApplyResult, after_s: float) -> None:
        reason = for_problem(after_s)
        if reason:
            raise ValidationError([Problem("for", reason)])
        plan, entry = result.plan, result.entry
        if any(not c.before.backends for c in plan.changes):
            raise PermissionDenied("a change that adds a route cannot be time-boxed")
        kinds: list[str] = []
        for c in plan.changes:
            kinds += [k for k in edited_kinds(c.before, c.after) if k not in kinds]
        box = TimeBox(
            id=entry.id,
            gateway=entry.gateway,
            description=entry.description,
            routes=list(entry.routes),
            kinds=kinds,
            before=list(entry.before),
            after=list(entry.after),
            due=entry.time + after_s,
            seconds=after_s,
            user=entry.user,
        )
        with self._locked() as boxes:
            boxes.append(box)

    def boxes(self) -> list[TimeBox]:
        return self._read()

    def run_due(self, connector: Connector, now: float | None = None) -> list[TimeBox]:
        """Revert every pending box whose time is up; the boxes acted on (reverted, needing a
        decision, or still pending after a passing failure with its reason)."""
        now = time.time() if now is None else now
        acted = []
        with self._locked() as boxes:
            for i, box in enumerate(boxes):
                if box.status == "pending" and box.due <= now:
                    boxes[i] = _revert(connector, box)
                    acted.append(boxes[i])
        return acted


def _undone(connector: Connector, box: TimeBox) -> bool:
    return any(e.undoes == box.id for e in connector.history())


def _revert(connector: Connector, box: TimeBox) -> TimeBox:
    """Revert ``box`` through the change pipeline, or say why it needs a decision."""
    from .pipeline import Change

    if _undone(connector, box):
        return replace(box, status="undone", reason="undone by hand before its time was up")
    names = _fields_of(box.kinds)
    label = " and ".join(_LABELS.get(k, "settings") for k in box.kinds)
    routes = []
    for before_d, after_d in zip(box.before, box.after, strict=True):
        before, after = route_from_dict(before_d), route_from_dict(after_d)
        try:
            current = connector.get_route(after.name)
        except NotFound:
            return replace(box, status="needs-decision", reason=f"route {after.name} was removed since")
        if all(getattr(current, f) == getattr(before, f) for f in names):
            continue  # already as before
        if any(getattr(current, f) != getattr(after, f) for f in names):
            why = f"the {label} of route {after.name} changed since the time-boxed change; not reverted"
            return replace(box, status="needs-decision", reason=why)
        routes.append(replace(current, **{f: getattr(before, f) for f in names}))
    if not routes:
        return replace(box, status="reverted", reason="already as before")
    change = Change(connector)
    try:
        plan = change.plan_routes(routes)
        took = format_duration(box.seconds)
        plan = replace(plan, undoes=box.id, description=f"revert after {took}: {box.description}")
        result = change.apply(plan)
    except ValidationError as exc:
        return replace(box, status="needs-decision", reason=f"the revert is refused: {exc}")
    except (*_PASSING, GatewayError, OSError) as exc:
        return replace(box, tries=box.tries + 1, reason=f"will try again: {exc}")
    return replace(box, status="reverted", revert_id=result.entry.id, reason="")
