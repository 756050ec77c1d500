"""The console's settings: one YAML file under the user's config directory, with env overrides.

``console.yaml`` holds the theme, the last gateway chosen on the Connect screen, the live refresh
interval and a ``keymap`` (binding id -> keys, e.g. ``view.filter: f``; ids no binding has are
reported once the console is up, see ``tui.keymap``). Unknown keys and bad values are reported (shown
as one notification) and fall back to defaults; a broken file never stops the console from starting.
Environment overrides: ``GATEWAYCTL_THEME`` and ``GATEWAYCTL_REFRESH`` (seconds).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from connectors.errors import Problem
from connectors.paths import config_dir

from .themes import DEFAULT_THEME
from .yaml_cache import YamlFileError, load_yaml_file

FILE_NAME = "console.yaml"
MIN_REFRESH, MAX_REFRESH = 0.2, 60.0


@dataclass(frozen=True)
class ConsoleConfig:
    """The console's settings."""

    theme: str = DEFAULT_THEME
    last_target: str | None = None  # Target.key of the gateway last opened from the Connect screen
    refresh_seconds: float = 1.0
    keymap: tuple[tuple[str, str], ...] = ()  # (binding id, keys) pairs, e.g. ("view.filter", "f")


@dataclass(frozen=True)
class LoadedConfig:
    """Settings as read, with every problem found in the file."""

    config: ConsoleConfig
    problems: tuple[Problem, ...] = ()


def config_path() -> Path:
    return config_dir() / FILE_NAME


def _refresh(value: Any, where: str, problems: list[Problem]) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        problems.append(Problem(where, f"must be a number of seconds, got {value!r}"))
        return None
    if not MIN_REFRESH <= seconds <= MAX_REFRESH:
        problems.append(Problem(where, f"must be between {MIN_REFRESH:g} and {MAX_REFRESH:g} seconds"))
        return None
    return seconds


def parse_config(data: Any, source: str = FILE_NAME) -> LoadedConfig:
    problems: list[Problem] = []
    config = ConsoleConfig()
    if data is None:
        return LoadedConfig(config)
    if not isinstance(data, dict):
        return LoadedConfig(config, (Problem(source, "must be a mapping of settings"),))
    known = set(asdict(config))
    for key in data:
        if key not in known:
            problems.append(
                Problem(f"{source}: {key}", f"unknown setting (expected one of: {', '.join(sorted(known))})")
            )
    if "theme" in data:
        if isinstance(data["theme"], str) and data["theme"]:
            config = replace(config, theme=data["theme"])
        else:
            problems.append(Problem(f"{source}: theme", "must be a theme name"))
    if data.get("last_target") is not None:
        if isinstance(data["last_target"], str):
            config = replace(config, last_target=data["last_target"])
        else:
            problems.append(Problem(f"{source}: last_target", "must be a string"))
    if "refresh_seconds" in data:
        seconds = _refresh(data["refresh_seconds"], f"{source}: refresh_seconds", problems)
        if seconds is not None:
            config = replace(config, refresh_seconds=seconds)
    if data.get("keymap") is not None:
        config = replace(config, keymap=_keymap(data["keymap"], f"{source}: keymap", problems))
    return LoadedConfig(config, tuple(problems))


def _keymap(value: Any, where: str, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    """The keymap's (binding id, keys) pairs; a bad entry is reported and left out."""
    if not isinstance(value, dict):
        problems.append(Problem(where, "must be a mapping of binding id to keys, e.g. view.filter: f"))
        return ()
    pairs = []
    for binding_id, keys in value.items():
        if not isinstance(keys, str) or not keys.strip():
            problems.append(
                Problem(f"{where}.{binding_id}", f"must be keys such as 'f' or 'ctrl+f', got {keys!r}")
            )
        else:
            pairs.append((str(binding_id), keys.strip()))
    return tuple(pairs)


def load_config(path: Path | None = None) -> LoadedConfig:
    """The settings file plus environment overrides. Never raises for a bad file."""
    path = path or config_path()
    problems: list[Problem] = []
    data: Any = None
    try:
        data = load_yaml_file(path)
    except FileNotFoundError:
        pass
    except (OSError, YamlFileError) as exc:
        problems.append(Problem(str(path), f"cannot be read: {exc}"))
    loaded = parse_config(data, path.name)
    config = loaded.config
    problems.extend(loaded.problems)
    if theme := os.environ.get("GATEWAYCTL_THEME"):
        config = replace(config, theme=theme)
    if refresh := os.environ.get("GATEWAYCTL_REFRESH"):
        seconds = _refresh(refresh, "GATEWAYCTL_REFRESH", problems)
        if seconds is not None:
            config = replace(config, refresh_seconds=seconds)
    return LoadedConfig(config, tuple(problems))


def save_setting(key: str, value: Any, path: Path | None = None) -> None:
    """Set one key in the settings file, keeping the others (and unknown ones) as they are.
    Written to a temp file and renamed, so a crash never leaves half a file."""
    import yaml  # in a worker, never at start-up

    path = path or config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        data = None
    if not isinstance(data, dict):
        data = {}
    data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".console-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(data, fh, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
