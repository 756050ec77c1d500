"""A canary run's state on disk, so a console or command that died mid-run can say where it was left,
and so that one run at a time steps a route.

One JSON file per gateway and route under the state directory (``canary/<gateway>/<route>.json``),
written atomically (temp file, fsync, rename) at every step, hold and resume, and removed when the
run ends (promoted, aborted, failed, or stopped by the operator). A file left behind means the run
died: ``left_over()`` finds it, and the next start offers to resume it from its step or to abort it
(all traffic back to stable), through the same canary run.

A run holds an exclusive lock (``flock`` on ``.<route>.lock`` beside its file) from its start to its
end (``claim``): a second starter, in this process or another, is refused while it is held, and the
lock goes with its process, so a file without a held lock is a run whose process died. ``live()``
says which run goes now (console, command, whose pid, which step, since when).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .base import Connector
from .errors import GatewayError
from .history import HistoryEntry
from .paths import private_dir, state_dir


@dataclass(frozen=True)
class CanaryState:
    """Where a canary run is: its plan, its step and weight, and what it last said."""

    run: str
    gateway: str  # the gateway's title, e.g. "native:demo"
    route: str
    stable: str
    canary: str
    plan: dict[str, Any]  # CanaryPlan fields
    step: int  # index into plan["steps"], -1 before the first
    weight: int  # the canary's declared weight now
    state: str  # "running", "paused", "held"
    message: str = ""
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    pid: int = field(default_factory=os.getpid)
    # The steps judged on enough requests and those gone past without (``canary_evidence``), so a
    # resumed run knows whether it may promote.
    judged: list[str] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line: where the run was left."""
        steps = self.plan.get("steps") or []
        at = f"step {self.step + 1}/{len(steps)}" if self.step >= 0 else "before its first step"
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.updated))
        return (
            f"canary {self.canary} on {self.route} was left {self.state} at {at}, {self.weight}% "
            f"(last seen {when}: {self.message or 'no message'})"
        )

    def going(self) -> str:
        """One line: a run going in another console or command, for a view or a refusal."""
        steps = self.plan.get("steps") or []
        at = f"step {self.step + 1}/{len(steps)} at {self.weight}%" if self.step >= 0 else "starting"
        since = time.strftime("%H:%M:%S", time.localtime(self.started))
        return (
            f"canary {self.canary} on {self.route} is {self.state} in another console or command "
            f"(pid {self.pid}): {at}, since {since}"
        )


class CanaryBusy(GatewayError, title="Canary already running"):
    """A run of the route goes elsewhere (``state``: where), or one was left unfinished."""

    def __init__(self, message: str, state: CanaryState | None, left: bool = False) -> None:
        super().__init__(message)
        self.state = state
        self.left = left


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


class CanaryStateStore:
    """The canary state files of one gateway."""

    def __init__(self, gateway: str, root: Path | None = None) -> None:
        self.gateway = gateway
        self.dir = (root or state_dir() / "canary") / _safe(gateway)

    def path(self, route: str) -> Path:
        return self.dir / f"{_safe(route)}.json"

    def save(self, state: CanaryState) -> None:
        """Write ``state`` atomically: a crash leaves the previous state or this one, never half."""
        private_dir(self.dir)  # canary/ and its gateway folder 0700 (mkdir left the parent 0755)
        target = self.path(state.route)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        data = json.dumps(asdict(state), indent=1, sort_keys=True)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def load(self, route: str) -> CanaryState | None:
        return _read(self.path(route))

    def clear(self, route: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(route).unlink()

    def _lock_path(self, route: str) -> Path:
        return self.dir / f".{_safe(route)}.lock"

    def claim(self, route: str, wait_s: float = 0.5) -> int:
        """Take the route's run lock (kept until ``release``) or raise ``CanaryBusy`` naming the run
        that holds it. Waits a little: ``live()`` takes it shared for a moment to look."""
        private_dir(self.dir)
        fd = os.open(self._lock_path(route), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    state = self.load(route)
                    what = state.going() if state else f"a canary on {route} is starting elsewhere"
                    raise CanaryBusy(what, state) from None
                time.sleep(0.02)

    @staticmethod
    def release(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.close(fd)  # the lock goes with its descriptor

    def _locked(self, route: str) -> bool:
        """True while some run (here or in another process) holds the route's lock."""
        try:
            fd = os.open(self._lock_path(route), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def live(self, route: str) -> CanaryState | None:
        """The run of ``route`` going now (its lock held, or its process alive), or None."""
        state = self.load(route)
        if state is None:
            return None
        return state if self._locked(route) or _alive(state.pid) else None

    def left(self, route: str) -> CanaryState | None:
        """The run of ``route`` whose process died before it ended, or None."""
        state = self.load(route)
        if state is None or is_active(state.gateway, route) or self._locked(route) or _alive(state.pid):
            return None
        return state

    def left_over(self) -> list[CanaryState]:
        """Runs whose process is gone (or whose file is from another process that no longer runs)."""
        if not self.dir.is_dir():
            return []
        out = []
        for path in sorted(self.dir.glob("*.json")):
            state = _read(path)
            if state is not None and self.left(state.route) is not None:
                out.append(state)
        return out


def _read(path: Path) -> CanaryState | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = set(CanaryState.__dataclass_fields__)
        return CanaryState(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError):
        return None  # absent, or not a state file we wrote


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # the caller checked this process's own runs (``is_active``)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- runs going in this process, so their files are not taken for leftovers -----------------------

_ACTIVE: set[tuple[str, str]] = set()
_ACTIVE_LOCK = threading.Lock()


def mark_active(gateway: str, route: str, active: bool) -> None:
    with _ACTIVE_LOCK:
        (_ACTIVE.add if active else _ACTIVE.discard)((gateway, route))


def is_active(gateway: str, route: str) -> bool:
    with _ACTIVE_LOCK:
        return (gateway, route) in _ACTIVE


# -- canary events that change nothing, in history and the audit log -----------------------------


def record_event(connector: Connector, run: str, event: str, route: str, message: str) -> HistoryEntry:
    """A canary event that changed no weight (start, hold, resume, low traffic) as a history entry
    (``action="event"``, ``kind="canary"``) and an audit line; steps, aborts and promotes are the
    changes themselves, labelled the same way by the change pipeline."""
    entry = HistoryEntry(
        id=os.urandom(6).hex(),
        time=time.time(),
        user=connector.user,
        gateway=connector.info().title,
        routes=(route,),
        description=message,
        before=(),
        after=(),
        action="event",
        kind="canary",
        event=event,
        run=run,
    )
    if connector.history_store is not None:
        connector.history_store.append(entry)
    if connector.audit_log is not None:
        connector.audit_log.record(entry)
    return entry
