"""The file's bytes before each save, so that undoing a change restores the file byte for byte.

An edit that removes a node removes its comments with it; re-adding the node cannot bring them
back. So each save keeps the text it replaced, keyed by the hash of the text it wrote. When the
next save would make the file read exactly as it did before that save (an undo, or the same edit
reverted by hand in the console) and the file is still the one written then, the kept text is
written back as it was. A hand edit changes the hash, so a stale copy is never used.

Copies live under the state directory (0700, files 0600: a config may hold header secrets) and
only the last few per config file are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..model import Gateway, gateway_to_dict, route_to_dict
from ..paths import private_dir, state_dir
from .xds import atomic_write

KEEP = 20


def _folder(config: Path) -> Path:
    key = hashlib.sha256(str(config.resolve()).encode()).hexdigest()[:16]
    return state_dir() / "config-undo" / key


def _top(gw: Gateway) -> dict[str, Any]:
    data = gateway_to_dict(gw)
    data.pop("routes")
    return data


def remember(config: Path, before_text: str, before: Gateway, after: Gateway, after_version: str) -> None:
    """Keep ``before_text`` (which reads as ``before``) for the save that wrote ``after``."""
    after_routes = {r.name: r for r in after.routes}
    changed = {r.name: route_to_dict(r) for r in before.routes if after_routes.get(r.name) != r}
    record = {
        "text": before_text,
        "top": _top(before),
        "routes": [r.name for r in before.routes],
        "changed": changed,
    }
    folder = _folder(config)
    try:
        private_dir(folder.parent)
        private_dir(folder)
        path = folder / f"{after_version}.json"
        atomic_write(path, json.dumps(record))
        os.chmod(path, 0o600)
        _prune(folder)
    except OSError:
        pass  # an undo without the copy still restores every value, only not the removed comments


def recall(config: Path, current_version: str, current: Gateway, new: Gateway) -> str | None:
    """The text the file had before the save that wrote ``current_version``, when ``new`` reads
    exactly as that text did; else None."""
    try:
        record = json.loads((_folder(config) / f"{current_version}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if [r.name for r in new.routes] != record.get("routes") or _top(new) != record.get("top"):
        return None
    changed: dict[str, Any] = record.get("changed", {})
    now = {r.name: r for r in current.routes}
    for route in new.routes:
        if route.name in changed:
            if route_to_dict(route) != changed[route.name]:
                return None
        elif route is not now.get(route.name) and route != now.get(route.name):
            return None
    text = record.get("text")
    return text if isinstance(text, str) else None


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    for old in files[:-KEEP]:
        with contextlib.suppress(OSError):
            old.unlink()
