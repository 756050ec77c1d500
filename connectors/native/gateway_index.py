"""Where native gateways started outside the gateways folder live, so they are found like the rest.

A gateway started with its own state directory (``up --state-dir DIR``, ``demo --state-dir DIR``)
is not under ``gateways_dir()``; ``remember`` notes its directory in a small index file in the
tool's state folder (``gateways.index.json``, mode 0600, replaced atomically), and ``remembered``
gives back those that still hold a gateway's ``state.json``. Directories that no longer do are
dropped the next time the index is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from ..paths import gateways_dir, private_dir, state_dir

INDEX_FILE = "gateways.index.json"
STATE_FILE = "state.json"


def index_path() -> Path:
    return state_dir() / INDEX_FILE


def _read() -> list[str]:
    try:
        data = json.loads(index_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(p) for p in data] if isinstance(data, list) else []


def _write(paths: list[str]) -> None:
    """Replace the index atomically (a crash leaves the old one or the new one), owner-only."""
    target = index_path()
    private_dir(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=".gateways.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            json.dump(paths, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remember(directory: Path) -> None:
    """Note a gateway's state directory (nothing to do for one under the gateways folder)."""
    directory = directory.expanduser().resolve()
    if directory.parent == gateways_dir().expanduser().resolve():
        return
    known = [p for p in _read() if (Path(p) / STATE_FILE).exists() or Path(p) == directory]
    if str(directory) not in known:
        known.append(str(directory))
    with contextlib.suppress(OSError):  # a read-only state folder: the gateway still runs
        _write(known)


def remembered() -> list[Path]:
    """The remembered state directories that still hold a gateway, in the order they were started."""
    return [Path(p) for p in _read() if (Path(p) / STATE_FILE).exists()]
