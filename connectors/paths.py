"""Where the tool keeps its files: XDG state, config and cache directories, overridable for tests."""

from __future__ import annotations

import os
from pathlib import Path

APP = "gatewayctl-tui"


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
