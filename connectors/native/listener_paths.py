"""How the listeners Envoy serves treat request paths, read from the listeners file on disk (what
Envoy loaded: the tool writes it only through a push that Envoy accepted).

A gateway started by a version of this tool from before listeners normalised paths still serves
its old listener after an upgrade: Envoy reads nothing new until a push. ``outdated`` names such
listeners; the first change after the upgrade rewrites them (the plan says so, as a listener
rewrite and why), and until then ``match`` predicts on the path as that listener routes it: as sent.
It is not drift: the file is still the one the tool wrote and recorded (``applied``).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ..model.paths import PathHandling
from .names import HCM_FILTER
from .render import Layout, body_of
from .render_listener import PATH_HANDLING

OLDER = (
    "its listener file, written by an older gatewayctl-tui or by hand, does not set them; the next "
    "change rewrites it with path normalisation"
)

_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int, int], dict[str, PathHandling]]] = {}
# How this version writes the settings (render_listener: compact JSON): a file holding them once per
# connection manager is current without parsing it (megabytes with thousands of limited routes).
_CURRENT = json.dumps(PATH_HANDLING.hcm_fields(), separators=(",", ":"))[1:-1]
_HCM = json.dumps({"name": HCM_FILTER}, separators=(",", ":"))[1:-1]
ALL_CURRENT: dict[str, PathHandling] = {}  # served() when every listener is as this version writes it


def _hcm(listener: dict[str, Any]) -> dict[str, Any] | None:
    for chain in listener.get("filter_chains") or []:
        for f in chain.get("filters") or []:
            if f.get("name") == HCM_FILTER and isinstance(f.get("typed_config"), dict):
                config: dict[str, Any] = f["typed_config"]
                return config
    return None


def _read(path: Path) -> dict[str, PathHandling]:
    try:
        text = path.read_text(encoding="utf-8")
        if text.count(_CURRENT) == text.count(_HCM):
            return ALL_CURRENT
        body = body_of(text)
        resources = json.loads(body if body is not None else text)
    except (OSError, ValueError):
        return {}
    if isinstance(resources, dict):
        resources = resources.get("resources", [])
    out: dict[str, PathHandling] = {}
    for listener in resources if isinstance(resources, list) else []:
        hcm = _hcm(listener) if isinstance(listener, dict) else None
        if hcm is not None and isinstance(listener.get("name"), str):
            handling = PathHandling.from_hcm(hcm)
            out[listener["name"]] = (
                handling if handling == PATH_HANDLING else PathHandling.from_hcm(hcm, OLDER)
            )
    return out


def served(layout: Layout) -> dict[str, PathHandling]:
    """Each listener's path handling as the listeners file holds it; ``ALL_CURRENT`` (empty) when
    every one is as this version writes it. Read again only when the file changed."""
    path = layout.lds
    try:
        st = path.stat()
    except OSError:
        return ALL_CURRENT
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
    found = _read(path)
    with _lock:
        _cache[path] = (key, found)
    return found


def outdated(layout: Layout) -> list[str]:
    """The listeners Envoy serves that do not treat paths as this version renders them."""
    return [name for name, handling in served(layout).items() if handling != PATH_HANDLING]


def handling(layout: Layout, listener: str | None) -> PathHandling:
    """How ``listener`` (None: the first one) treats paths; this version's when it cannot be read."""
    found = served(layout)
    if listener is None:
        return next(iter(found.values()), PATH_HANDLING)
    return found.get(listener, PATH_HANDLING)
