"""Pushing Envoy files: atomic replace, then wait until Envoy accepted (or rejected) that version.

Only a rename onto the watched path makes Envoy re-read a file (FACTS), so every write goes to a
temp file in the same directory first. The outcome comes from the subscription's stats
(update_success / update_rejected / update_failure and version_text); the reason for a rejection
from Envoy's log line "Filesystem config update rejected: <reason>", or a listener's error_state.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ChangeRejected, GatewayError
from .admin import AdminClient

_COUNTER = itertools.count()
_REJECTED = re.compile(r"config update (rejected|failure)[^:]*:\s*(.*)", re.IGNORECASE)


@dataclass(frozen=True)
class Subscription:
    """One xDS file subscription: what it is called for people, and its stats prefix in Envoy."""

    label: str
    stat_prefix: str

    @property
    def stats_regex(self) -> str:
        return (
            "^"
            + re.escape(self.stat_prefix)
            + r"\.(update_success|update_rejected|update_failure|version_text)$"
        )


CDS = Subscription("clusters (CDS)", "cluster_manager.cds")
LDS = Subscription("listeners (LDS)", "listener_manager.lds")


def rds(listener: str) -> Subscription:
    return Subscription(f"routes of listener {listener} (RDS)", f"http.{listener}.rds.{listener}")


def atomic_write(path: Path, text: str, *, fsync: bool = False, keep_mode: bool = False) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{next(_COUNTER)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            if keep_mode:
                with contextlib.suppress(OSError):
                    os.fchmod(fh.fileno(), path.stat().st_mode & 0o7777)
            fh.write(text)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class _Counts:
    success: int
    rejected: int
    failure: int
    version: str


class Pusher:
    """Writes xDS files into a running Envoy and waits for the outcome."""

    def __init__(self, admin: AdminClient, log_path: Path, timeout: float = 15.0) -> None:
        self.admin = admin
        self.log_path = log_path
        self.timeout = timeout

    def counts(self, sub: Subscription) -> _Counts:
        stats = self.admin.stats(sub.stats_regex)
        p = sub.stat_prefix

        def num(key: str) -> int:
            value = stats.get(f"{p}.{key}", 0)
            return int(value) if isinstance(value, int | float) else 0

        return _Counts(
            num("update_success"),
            num("update_rejected"),
            num("update_failure"),
            str(stats.get(f"{p}.version_text", "")),
        )

    def served_version(self, sub: Subscription) -> str:
        """The version Envoy last accepted for ``sub`` (a text readout: cheaper than counters)."""
        stats = self.admin.stats_of_type(
            "TextReadouts", "^" + re.escape(sub.stat_prefix) + r"\.version_text$"
        )
        return str(stats.get(f"{sub.stat_prefix}.version_text", ""))

    def push(
        self,
        path: Path,
        text: str,
        sub: Subscription,
        version: str,
        probe: Callable[[], str | None] | None = None,
    ) -> None:
        """Replace ``path`` with ``text`` (whose version_info is ``version``) and wait until Envoy
        serves it. ``probe`` (routes only) asks the listener which version it serves: one request
        instead of an admin query that costs O(config). A rejection is read from Envoy's log
        ("Filesystem config update rejected: <reason>"); raises ChangeRejected with the reason,
        or on timeout."""
        log_offset = _size(self.log_path)
        atomic_write(path, text)
        start = time.monotonic()
        next_admin = start + (0.25 if probe is not None else 0.0)
        pause = 0.0005
        while True:
            if probe is not None and probe() == version:
                return
            if _size(self.log_path) > log_offset:
                reason = _log_reason(self.log_path, log_offset)
                if reason:
                    raise ChangeRejected(f"Envoy rejected the {sub.label}: {reason}")
            now = time.monotonic()
            if now >= next_admin:
                if self.served_version(sub) == version:
                    return
                next_admin = time.monotonic() + (0.25 if probe is not None else pause)
            if now - start > self.timeout:
                raise ChangeRejected(
                    f"Envoy did not load the new {sub.label} (version {version}) within {self.timeout:g}s"
                )
            time.sleep(pause)
            # A probe costs ~0.5 ms: poll it often (the wait is the apply's latency).
            pause = min(pause * 1.5, 0.002 if probe is not None else 0.01)

    def reason(self, log_offset: int, sub: Subscription) -> str:
        """Envoy's own words for the last rejection: its log line, else a listener's error_state."""
        deadline = time.monotonic() + 0.5
        while True:
            found = _log_reason(self.log_path, log_offset)
            if found:
                return found
            if sub is LDS:
                state = self._listener_error()
                if state:
                    return state
            if time.monotonic() > deadline:
                return "no reason given (see Envoy's log " + str(self.log_path) + ")"
            time.sleep(0.02)

    def _listener_error(self) -> str | None:
        try:
            dump = self.admin.config_dump("dynamic_listeners")
        except GatewayError:
            return None
        for item in dump.get("configs", []):
            details = item.get("error_state", {}).get("details")
            if details:
                return str(details)
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _log_reason(path: Path, offset: int) -> str | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return None
    for line in data.splitlines():
        m = _REJECTED.search(line)
        if m and m.group(2).strip():
            return m.group(2).strip()
    return None
