"""Which xDS versions are on disk and which Envoy serves, read, never assumed.

Every xDS file carries a ``version_info`` from the gateway's counter (``GatewayState.xds_version``);
Envoy reports the version it accepted per subscription as a text readout (``...version_text``). A
process killed in the middle of a push leaves the counter in ``state.json`` behind the files; the
next push must number past everything written, or Envoy's probe would answer "already served".
"""

from __future__ import annotations

import time
from fnmatch import fnmatch
from pathlib import Path

from ..errors import GatewayError
from . import xds
from .admin import AdminClient
from .names import LIMIT_FILE_GLOB
from .render import Layout, version_of


def stat_name(layout: Layout, path: Path) -> str:
    """The text readout holding the version Envoy accepted from ``path``."""
    if path == layout.cds:
        return "cluster_manager.cds.version_text"
    if path == layout.lds:
        return "listener_manager.lds.version_text"
    if (route := limit_route(path)) is not None:
        return f"{xds.limit(route).stat_prefix}.version_text"
    listener = path.name.removeprefix("rds-").removesuffix(".json")
    return f"http.{listener}.rds.{listener}.version_text"


def limit_route(path: Path) -> str | None:
    """The route whose limiter file (ECDS) ``path`` is, or None."""
    name = path.name
    return name.removeprefix("limit-").removesuffix(".json") if fnmatch(name, LIMIT_FILE_GLOB) else None


def limit_files(layout: Layout) -> list[Path]:
    """The limiter files on disk (one directory listing; a route's file goes with its limit)."""
    return sorted(layout.xds_dir.glob(LIMIT_FILE_GLOB))


def watched(layout: Layout, listener_names: list[str], *, limits: bool = True) -> list[Path]:
    rds = [layout.rds(n) for n in listener_names]
    return [layout.cds, layout.lds, *rds, *(limit_files(layout) if limits else ())]


def on_disk(layout: Layout, listener_names: list[str], *, limits: bool = True) -> dict[Path, str | None]:
    """Each watched file's ``version_info`` (None when missing or unreadable); with ``limits`` the
    limiter files' too."""
    out: dict[Path, str | None] = {}
    for path in watched(layout, listener_names, limits=limits):
        try:
            with open(path, encoding="utf-8") as fh:
                out[path] = version_of(fh.read(256) + ',"resources":')
        except OSError:
            out[path] = None
    return out


def served(admin: AdminClient) -> dict[str, str]:
    """Envoy's accepted version per subscription readout (raises GatewayError if it cannot say)."""
    stats = admin.stats_of_type("TextReadouts", r"version_text$")
    return {k: str(v) for k, v in stats.items()}


def highest(*versions: str | int | None) -> int:
    out = 0
    for v in versions:
        text = str(v or "").lstrip("v")
        if text.isdigit():
            out = max(out, int(text))
    return out


def unloaded(
    admin: AdminClient, layout: Layout, listener_names: list[str]
) -> dict[Path, tuple[str | None, str]]:
    """Files whose version Envoy does not serve: path -> (file version, Envoy's version)."""
    disk = on_disk(layout, listener_names)
    envoy = served(admin)
    out: dict[Path, tuple[str | None, str]] = {}
    for path, version in disk.items():
        stat = stat_name(layout, path)
        if stat not in envoy and limit_route(path) is not None:
            continue  # no listener names this limiter yet (its file is written first): not watched
        got = envoy.get(stat, "")
        if version is not None and got != version:
            out[path] = (version, got)
    return out


def settle(
    admin: AdminClient, layout: Layout, listener_names: list[str], timeout: float = 3.0
) -> dict[Path, tuple[str | None, str]]:
    """Wait (up to ``timeout``) until Envoy serves the version of every file on disk; return the
    files it still does not (rejected, or not loaded yet). A file renamed into place just before a
    crash is loaded by Envoy within milliseconds."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            missing = unloaded(admin, layout, listener_names)
        except GatewayError:
            return {}
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(pause)
        pause = min(0.1, pause * 2)
