"""Pushing Envoy files: atomic replace, then wait until Envoy accepted (or rejected) that version.

Only a rename onto the watched path makes Envoy re-read a file (FACTS), so every write goes to a
temp file in the same directory first. Acceptance: the routes' probe answers the new version
(see render.with_probe), or the subscription's ``version_text`` shows it. Rejection: Envoy logs
"Filesystem config update rejected: <reason>" (or "... failure: <reason>" for a malformed file) and
keeps serving the previous config; that line is Envoy's reason shown to the operator.
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

from ..errors import ChangeRejected
from .admin import AdminClient
from .envoy_reason import short_reason
from .names import limit_filter_name

_COUNTER = itertools.count()
_REJECTED = re.compile(r"config update (rejected|failure)[^:]*:\s*(.*)", re.IGNORECASE)


@dataclass(frozen=True)
class Subscription:
    """One xDS file subscription: what it is called for people, and its stats prefix in Envoy."""

    label: str
    stat_prefix: str


CDS = Subscription("clusters (CDS)", "cluster_manager.cds")
LDS = Subscription("listeners (LDS)", "listener_manager.lds")


def rds(listener: str) -> Subscription:
    return Subscription(f"routes of listener {listener} (RDS)", f"http.{listener}.rds.{listener}")


def limit(route: str) -> Subscription:
    """A route's limiter file (ECDS, render_limits)."""
    name = limit_filter_name(route)
    return Subscription(
        f"rate limit of route {route} (ECDS)", f"extension_config_discovery.http_filter.{name}"
    )


# A file no Envoy subscription reads yet (a new limiter's, before the listener names it): written
# and put back without waiting for Envoy.
UNWATCHED = Subscription("", "")


def atomic_write(path: Path, text: str, *, fsync: bool = False, keep_mode: bool = False) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it over ``path``. The file is the
    owner's only (0600), or keeps ``path``'s mode with ``keep_mode`` (the operator's YAML)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{next(_COUNTER)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="utf-8") as fh:
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


class Pusher:
    """Writes xDS files into a running Envoy and waits for the outcome."""

    def __init__(self, admin: AdminClient, log_path: Path, timeout: float = 15.0) -> None:
        self.admin = admin
        self.log_path = log_path
        self.timeout = timeout

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
        # The admin query is the fallback when there is no probe or it cannot reach the listener.
        next_admin = start if probe is None else float("inf")
        pause = 0.0005
        while True:
            if probe is not None:
                answer = probe()
                if answer == version:
                    return
                if answer is None and next_admin == float("inf"):
                    next_admin = time.monotonic() + 0.5
            if _size(self.log_path) > log_offset:
                reason = log_reason(self.log_path, log_offset)
                if reason:
                    raise ChangeRejected(f"Envoy rejected the {sub.label}: {reason}")
            now = time.monotonic()
            if now >= next_admin:
                if self.served_version(sub) == version:
                    return
                next_admin = time.monotonic() + (0.5 if probe is not None else pause)
            if now - start > self.timeout:
                raise ChangeRejected(
                    f"Envoy did not load the new {sub.label} (version {version}) within {self.timeout:g}s"
                )
            time.sleep(pause)
            # Poll often (the wait is the apply's latency) but spend only ~5% of the time probing:
            # probes take CPU from Envoy's main thread, which is loading the change.
            pause = max(0.0005, min(0.01, 0.05 * (time.monotonic() - start)))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_reason(path: Path, offset: int) -> str | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return None
    for line in data.splitlines():
        m = _REJECTED.search(line)
        if m and m.group(2).strip():
            return short_reason(m.group(2))
    return None
