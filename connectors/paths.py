"""Where the tool keeps its files: XDG state, config and cache directories, overridable for tests."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP = "gatewayctl-tui"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def state_dir() -> Path:
    """``$GATEWAYCTL_STATE_DIR`` or ``$XDG_STATE_HOME/gatewayctl-tui`` (default ~/.local/state/...)."""
    if explicit := os.environ.get("GATEWAYCTL_STATE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP


def config_dir() -> Path:
    if explicit := os.environ.get("GATEWAYCTL_CONFIG_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP


def cache_dir() -> Path:
    """``$GATEWAYCTL_CACHE_DIR`` or ``$XDG_CACHE_HOME/gatewayctl-tui`` (default ~/.cache/...): files that
    can be deleted at any time and are rebuilt."""
    if explicit := os.environ.get("GATEWAYCTL_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP


def gateways_dir() -> Path:
    """Native gateways started by the tool each have a state directory here."""
    return state_dir() / "gateways"


def private_dir(path: Path) -> Path:
    """Make ``path`` (and any missing parent) a folder only its owner can enter: mode 0700, also when
    it was made earlier with a looser mode. The tool's state (admin socket, config copies, history,
    logs) lives in such folders, so no other local user can reach it."""
    missing = []
    here = path
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR)
    with contextlib.suppress(OSError):  # not ours (e.g. a shared --state-dir parent): leave it
        if path.stat().st_uid == os.getuid():
            path.chmod(PRIVATE_DIR)
    return path
