"""Where the tool keeps its files: XDG state, config and cache directories, overridable for tests."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
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


def folder_problem(path: Path) -> str | None:
    """Why ``path`` is not a folder that only this user controls, or None (also when it does not
    exist yet: the tool makes it 0700). Another user's folder, or one anyone may write in, lets
    that user plant files (pid files, a config) the tool would then trust."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a folder (a symlink or a file)"
    if info.st_uid != os.getuid():
        return f"{path} belongs to another user (uid {info.st_uid}); use a folder of your own"
    if info.st_mode & 0o022:
        mode = stat.S_IMODE(info.st_mode)
        return f"{path} is writable by other users (mode {mode:o}); use a folder only you can write"
    return None


def append_private(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created 0600), never through a symlink (someone who swapped
    the log for a link would have the tool append to the link's target), and tightened back to
    0600 when its mode was loosened. Raises UnsafeState naming the file."""
    from .errors import UnsafeState

    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeState(f"{path} is a symlink: the tool does not write through it; remove it") from None
        raise
    try:
        info = os.fstat(fd)
        if info.st_uid != os.getuid() or not stat.S_ISREG(info.st_mode):
            raise UnsafeState(f"{path} is not a file of this user; remove it")
        if stat.S_IMODE(info.st_mode) != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def tighten(root: Path) -> None:
    """Every folder (0700) and file (0600) of this user under ``root``, ``root`` included, made
    private again after someone loosened it (``chmod 644 history.jsonl``, ``chmod 755 xds``).
    Symlinks are not followed; another user's files are left alone."""
    uid = os.getuid()
    for here, folders, files in os.walk(root):
        for name in [here, *(os.path.join(here, f) for f in folders + files)]:
            with contextlib.suppress(OSError):
                info = os.lstat(name)
                if info.st_uid != uid or stat.S_ISLNK(info.st_mode):
                    continue
                want = PRIVATE_DIR if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE
                if stat.S_ISSOCK(info.st_mode) or stat.S_IMODE(info.st_mode) & ~want & 0o777 == 0:
                    continue
                os.chmod(name, stat.S_IMODE(info.st_mode) & want)


def state_folder_problem(folder: Path) -> str | None:
    """``folder_problem`` of a gateway's state folder and, when it is in the tool's gateways
    folder, of that folder and the state root too (all three made by the tool)."""
    folders = [folder]
    if folder.parent == gateways_dir():
        folders += [gateways_dir(), gateways_dir().parent]
    return next((p for p in map(folder_problem, folders) if p), None)


def log_problem(*logs: Path) -> str | None:
    """The first of ``logs`` (history, audit) that is a symlink: checked before a change is
    applied, so a swapped log stops the change instead of its record."""
    return next(
        (
            f"{log} is a symlink: the tool does not write through it; remove it"
            for log in logs
            if log.is_symlink()
        ),
        None,
    )
