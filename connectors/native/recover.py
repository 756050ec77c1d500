"""Finishing or undoing a change whose command was killed mid-way (see ``journal``).

An interrupted intent is reconciled from what Envoy serves (``/config_dump``), not from what the
files claim:

    the YAML was saved already             roll forward (the push had completed)
    Envoy serves every route of the change roll forward: save the YAML, record history and audit
    otherwise                              roll back: push the last applied config again (the YAML
                                           was not saved), record the roll-back

Either way ``state.json``'s version counter is raised past every version on disk or served, the
last applied record (``applied``) is brought up to date, temp files of dead writers are removed,
and one line says what happened. Reconciling is idempotent: killed while reconciling, the intent is
still there and the next start does it again.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GatewayError, ValidationError
from ..history import HistoryEntry
from ..model import Gateway, gateway_from_dict
from . import applied, journal, versions
from .config_file import ConfigFile, file_version, load_text
from .served import differences, envoy_views, model_views

if TYPE_CHECKING:
    from .trusted import Trusted

FORWARD = "rolled forward"
BACK = "rolled back"


def reconcile(conn: Trusted, inflight: set[str]) -> list[str]:
    """Reconcile every interrupted intent of ``conn``'s gateway; one line per intent."""
    lines: list[str] = []
    for intent in journal.pending(conn.state_dir):
        if intent.plan in inflight or not intent.interrupted:
            continue
        with conn._mutex, conn._lock.hold():
            if not (journal.folder(conn.state_dir) / f"{intent.plan}.json").exists():
                continue  # another process reconciled it while this one waited for the lock
            try:
                lines.append(_reconcile_one(conn, intent))
            except GatewayError as exc:
                lines.append(
                    f"could not reconcile an interrupted change ({intent.description}): {exc}; "
                    "it is tried again at the next command"
                )
    return lines


def sync_versions(conn: Trusted) -> None:
    """Raise the version counter past every version on disk and every version Envoy serves."""
    listeners = list(conn._state.listeners) or [x.name for x in conn._config.gateway.listeners]
    disk = versions.on_disk(conn.layout, listeners)
    try:
        envoy = versions.served(conn.admin) if conn.is_running() else {}
    except GatewayError:
        envoy = {}
    top = versions.highest(conn._state.xds_version, *disk.values(), *envoy.values())
    if top != conn._state.xds_version:
        conn._state.xds_version = top
        conn._state.write(conn.state_dir)


def _model(text: str, source: str) -> Gateway | None:
    try:
        data = load_text(text, source)
        return gateway_from_dict(data) if isinstance(data, dict) else None
    except ValidationError:
        return None


def _disk_version(path: Path) -> str | None:
    try:
        return file_version(path.read_bytes())
    except OSError:
        return None


def _reconcile_one(conn: Trusted, intent: journal.Intent) -> str:
    new = _model(intent.new_text, "the interrupted change")
    state_dir = conn.state_dir
    if new is None:  # cannot happen for an intent this tool wrote; never guess
        journal.remove(state_dir, intent.plan)
        return f"an interrupted change ({intent.description}) could not be read; it was dropped"
    sync_versions(conn)
    running = conn.is_running()
    listeners = [x.name for x in new.listeners]
    if running:
        versions.settle(conn.admin, conn.layout, listeners)
    disk = _disk_version(conn.config_path)
    serves_new = running and _serves(conn, new, intent.routes)
    if disk == intent.new_version or serves_new:
        how = _forward(conn, intent, new, disk, running, serves_new)
    else:
        how = _back(conn, intent, new, running)
    journal.remove(state_dir, intent.plan)
    return how


def _serves(conn: Trusted, gw: Gateway, names: list[str]) -> bool:
    try:
        served = envoy_views(conn.admin, [x.name for x in gw.listeners])
    except GatewayError:
        return False
    return not differences(model_views(gw), served, names)


def _forward(
    conn: Trusted, intent: journal.Intent, new: Gateway, disk: str | None, running: bool, serves: bool
) -> str:
    notes = []
    if running and not serves:
        conn._deploy.push(None, new)  # the YAML was saved, so the push had completed; make sure
    if disk == intent.base_version:
        cf = ConfigFile.load(conn.config_path)
        cf.save(new, intent.new_text)
        conn._config = cf
        notes.append("YAML saved")
    elif disk != intent.new_version:
        notes.append("the YAML was edited since: see `gatewayctl-tui drift`")
    conn._served = new if disk in (intent.base_version, intent.new_version) else None
    conn._state.listeners = {x.name: f"{x.address}:{x.port}" for x in new.listeners}
    conn._state.write(conn.state_dir)
    notes += _ensure_recorded(conn, intent, serves or not running)
    applied.record(
        conn.state_dir, intent.new_text, intent.new_version, conn.layout, list(conn._state.listeners)
    )
    return (
        f"recovered an interrupted change ({intent.description}): Envoy serves it, so it was "
        f"{FORWARD} ({', '.join(notes) or 'already recorded'})"
    )


def _back(conn: Trusted, intent: journal.Intent, new: Gateway, running: bool) -> str:
    text = applied.applied_text(conn.state_dir)
    old = _model(text, "applied.yaml") if text is not None else None
    if old is None or text is None:  # no record (a gateway started before records): the YAML is it
        text = conn.config_path.read_text(encoding="utf-8")
        old = _model(text, str(conn.config_path)) or conn._config.gateway
    if running:
        conn._deploy.push(new, old)  # only files that differ from the old rendering are written
    else:
        conn._deploy.write_all(old)  # Envoy reads these when it starts again
    conn._served = old if running else None
    conn._state.listeners = {x.name: f"{x.address}:{x.port}" for x in old.listeners}
    conn._state.write(conn.state_dir)
    verified = _serves(conn, old, intent.routes) if running else False
    entry = HistoryEntry(
        id=os.urandom(6).hex(),
        time=time.time(),
        user=conn.user,
        gateway=intent.gateway,
        routes=tuple(intent.routes),
        description=f"rolled back an interrupted change: {intent.description}",
        before=tuple(intent.after),
        after=tuple(intent.before),
        action="rollback",
        version=f"v{conn._state.xds_version}",
        verified=verified,
    )
    _append(conn, entry, history=True, audit=True)
    applied.record(
        conn.state_dir, text, file_version(text.encode("utf-8")), conn.layout, list(conn._state.listeners)
    )
    where = (
        "Envoy serves the config from before it"
        if running
        else "Envoy is not running; it starts from the YAML"
    )
    return (
        f"recovered an interrupted change ({intent.description}): it was not all in effect, so it was "
        f"{BACK} ({where}; recorded in history and the audit log)"
    )


def _ensure_recorded(conn: Trusted, intent: journal.Intent, verified: bool) -> list[str]:
    """The change's history entry and audit line, each written unless the killed process had."""
    history = conn.history_store
    found = None
    if history is not None:
        for e in reversed(history.entries()[-50:]):
            if (
                e.time >= intent.time - 1
                and list(e.routes) == intent.routes
                and list(e.after) == intent.after
                and e.action == intent.action
            ):
                found = e
                break
    notes = []
    if found is None:
        found = HistoryEntry(
            id=intent.plan,
            time=intent.time,
            user=intent.user,
            gateway=intent.gateway,
            routes=tuple(intent.routes),
            description=f"{intent.description} (recovered after an interruption)",
            before=tuple(intent.before),
            after=tuple(intent.after),
            action=intent.action,
            undoes=intent.undoes,
            version=f"v{conn._state.xds_version}",
            verified=verified,
        )
        _append(conn, found, history=True, audit=False)
        notes.append("history recorded")
    if not _audited(conn, found.id):
        _append(conn, found, history=False, audit=True)
        notes.append("audit log recorded")
    return notes


def _append(conn: Trusted, entry: HistoryEntry, *, history: bool, audit: bool) -> None:
    if history and conn.history_store is not None:
        conn.history_store.append(entry)
    if audit and conn.audit_log is not None:
        conn.audit_log.record(entry)


def _audited(conn: Trusted, change_id: str) -> bool:
    log = conn.audit_log
    if log is None:
        return True
    try:
        with open(log.path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - (1 << 20)))
            tail = fh.read()
    except OSError:
        return False
    return f'"change_id": "{change_id}"'.encode() in tail


def sweep(conn: Trusted) -> None:
    """Remove temp files that killed writers left (beside the YAML, in the state and xDS folders)."""
    with contextlib.suppress(OSError):
        journal.sweep_temp_files(
            [
                (conn.config_path.parent, f".{conn.config_path.name}."),
                (conn.state_dir, "."),
                (conn.layout.xds_dir, "."),
                (journal.folder(conn.state_dir), "."),
            ]
        )
