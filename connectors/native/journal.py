"""The native gateway's change journal: each change is noted as an intent before anything is touched.

An intent is one fsynced file, ``journal/<plan id>.json`` in the gateway's state directory, holding
everything needed to finish or undo the change without the process that started it: the plan id,
the YAML version it was planned on, the new YAML (bytes and version), the xDS version counter before
the push (files written carry higher versions), and the history entry to record. It is removed once
the change is verified and recorded (``completed``) or when the write failed and the connector put
the old config back (``abandoned``). An intent still there whose process is gone is an interrupted
change: ``recover.reconcile`` rolls it forward or back at the next command or console start.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GatewayError
from .xds import atomic_write

if TYPE_CHECKING:
    from ..base import Plan
    from ..history import HistoryEntry
    from .trusted import Trusted

FOLDER = "journal"


def process_id(pid: int | None = None) -> str:
    """``pid:start-time``: names one process even after its pid is reused."""
    pid = os.getpid() if pid is None else pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        start = "?"
    return f"{pid}:{start}"


def process_alive(owner: str) -> bool:
    pid, _, _ = owner.partition(":")
    return pid.isdigit() and process_id(int(pid)) == owner


@dataclass
class Intent:
    """One change about to be written (see the module docstring)."""

    plan: str
    owner: str
    time: float
    user: str
    gateway: str
    base_version: str
    new_version: str
    new_text: str
    xds_version: int
    routes: list[str]
    description: str
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    action: str = "apply"
    undoes: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def interrupted(self) -> bool:
        """Its process is gone (or it is this process's, left behind by an exception)."""
        return not process_alive(self.owner) or self.owner == process_id()

    @classmethod
    def from_plan(
        cls, plan: Plan, *, user: str, base_version: str, new_version: str, new_text: str, xds_version: int
    ) -> Intent:
        from ..model import route_to_dict

        return cls(
            plan=plan.id,
            owner=process_id(),
            time=time.time(),
            user=user,
            gateway=plan.gateway,
            base_version=base_version,
            new_version=new_version,
            new_text=new_text,
            xds_version=xds_version,
            routes=list(plan.routes),
            description=plan.description,
            before=[route_to_dict(c.before) for c in plan.changes],
            after=[route_to_dict(c.after) for c in plan.changes],
            action="undo" if plan.undoes else "apply",
            undoes=plan.undoes,
        )


def folder(state_dir: Path) -> Path:
    return state_dir / FOLDER


def write(state_dir: Path, intent: Intent) -> None:
    """Write ``intent`` durably (file and folder fsynced) before the change touches anything."""
    where = folder(state_dir)
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = where / f"{intent.plan}.json"
    atomic_write(path, json.dumps(asdict(intent)), fsync=True)
    os.chmod(path, 0o600)
    _fsync_dir(where)


def remove(state_dir: Path, plan_id: str) -> None:
    path = folder(state_dir) / f"{plan_id}.json"
    if path.exists():
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)


def pending(state_dir: Path) -> list[Intent]:
    """Every intent in the journal, oldest first (an unreadable file is skipped: it was never
    complete, so nothing was written after it)."""
    out = []
    for path in sorted(folder(state_dir).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            out.append(Intent(**data))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(out, key=lambda i: i.time)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sweep_temp_files(folders: list[tuple[Path, str]]) -> int:
    """Remove the temp files of atomic writes whose process died (``.NAME.PID.N.tmp``) from each
    folder, those whose name starts with its prefix."""
    removed = 0
    for where, prefix in folders:
        for tmp in where.glob(".*.tmp"):
            if not tmp.name.startswith(prefix):
                continue
            parts = tmp.name.split(".")
            pid = parts[-3] if len(parts) >= 4 else ""
            if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                continue
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed += 1
    return removed


class NativeJournal:
    """The pipeline's ``Journal`` hook for a native gateway (see ``connectors.change.hooks``)."""

    def __init__(self, connector: Trusted) -> None:
        self.connector = connector

    def intent(self, plan: Plan) -> None:
        self.connector.journal_intent(plan)

    def completed(self, plan: Plan, entry: HistoryEntry) -> None:
        self.connector.journal_completed(plan)

    def abandoned(self, plan: Plan, error: BaseException) -> None:
        # A GatewayError from the write means the connector put the old config back (its
        # contract); anything else (an interrupt mid-push) leaves the intent for reconciling.
        self.connector.journal_abandoned(plan, rolled_back=isinstance(error, GatewayError))
