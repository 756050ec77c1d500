"""Find the upstream files the Kubernetes tests read (CRD schemas, example manifests), and fill the
reference cache with them (`./dev crds`) where they are not beside the checkout.

CRD schemas resolve in this order (examples the same way, under `examples/`); the first that holds the
files wins:
1. `$GATEWAYCTL_CRDS` (a directory with `istio/`, `gateway-api/`, `envoy-gateway/`); for examples
   `$GATEWAYCTL_EXAMPLES`. When set it must hold them: a wrong path is an error, not a fallback.
2. `$GATEWAYCTL_SHARED_DIR/crds`, else `../shared/crds` relative to the project root.
3. the cache `$GATEWAYCTL_REFERENCE_CACHE/crds`, by default `$XDG_CACHE_HOME/gatewayctl-tui/reference`
   (`~/.cache/...`), filled by `./dev crds` from the pinned URLs in `pins.py` (each checked against
   its sha256; `--from DIR` copies a local tree laid out like `../shared` instead of downloading).

`ReferenceMissing` says where it looked and what to run; the pytest plugin (`fixtures.py`) turns it into
a skip with that instruction, except under `CI=true` where it fails the test.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from .pins import PINS, Pin

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTRUCTION = "run ./dev crds to download the pinned upstream files (or point $GATEWAYCTL_CRDS at them)"
_ENV = {"crds": "GATEWAYCTL_CRDS", "examples": "GATEWAYCTL_EXAMPLES"}
_DOWNLOAD_TIMEOUT_S = 60


class ReferenceMissing(FileNotFoundError):
    """No candidate directory holds the reference files; the message names them and the fix."""


def cache_dir() -> Path:
    override = os.environ.get("GATEWAYCTL_REFERENCE_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gatewayctl-tui" / "reference"


def shared_dir() -> Path:
    """`$GATEWAYCTL_SHARED_DIR`, else `../shared` beside the checkout (it may not exist)."""
    override = os.environ.get("GATEWAYCTL_SHARED_DIR")
    return Path(override) if override else (PROJECT_ROOT.parent / "shared").resolve()


def _pinned(kind: str) -> list[str]:
    """The pinned files of `crds` or `examples`, relative to that directory."""
    return [pin.path.removeprefix(f"{kind}/") for pin in PINS if pin.path.startswith(f"{kind}/")]


def candidates(kind: str) -> list[Path]:
    """Where `crds` or `examples` may be, in the order they are tried."""
    explicit = os.environ.get(_ENV[kind])
    if explicit:
        return [Path(explicit)]
    return [shared_dir() / kind, cache_dir() / kind]


def _complete(directory: Path, kind: str) -> bool:
    return all((directory / name).is_file() for name in _pinned(kind))


def reference_dir(kind: str) -> Path:
    """The first candidate directory that holds every pinned file of `kind`; `ReferenceMissing` if none."""
    tried = candidates(kind)
    for directory in tried:
        if _complete(directory, kind):
            return directory
    where = ", ".join(str(d) for d in tried)
    raise ReferenceMissing(f"no upstream {kind} files in {where}: {INSTRUCTION}")


def crds_dir() -> Path:
    return reference_dir("crds")


def examples_dir() -> Path:
    """The examples directory, for module-level constants: never raises. If no candidate is complete it
    is the last one tried, and reading a file there raises FileNotFoundError, which the pytest plugin
    reports like `ReferenceMissing`."""
    try:
        return reference_dir("examples")
    except ReferenceMissing:
        return candidates("examples")[-1]


def missing_reference(error: BaseException) -> str | None:
    """The skip reason if `error` means reference files are absent, else None."""
    if isinstance(error, ReferenceMissing):
        return str(error)
    if isinstance(error, FileNotFoundError) and error.filename:
        path = Path(str(error.filename)).absolute()
        roots = [c.absolute() for kind in _ENV for c in candidates(kind)]
        if any(path.is_relative_to(root) for root in roots):
            return f"{path} is missing: {INSTRUCTION}"
    return None


# -- ./dev crds ---------------------------------------------------------------------------------------
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fetch(pin: Pin, source: Path | None) -> bytes:
    if source is not None:
        return (source / pin.path).read_bytes()
    with urllib.request.urlopen(pin.url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
        data: bytes = response.read()
        return data


def _store(pin: Pin, data: bytes, target: Path) -> None:
    """Write atomically: a temporary file beside the target, fsynced, then renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def fill_cache(cache: Path, source: Path | None = None) -> list[str]:
    """Download (or copy from `source`) every pinned file whose cached copy is absent or different.
    Returns one problem line per file that could not be stored; a file whose sha256 differs from its
    pin is never stored."""
    problems: list[str] = []
    for pin in PINS:
        target = cache / pin.path
        if target.is_file() and _digest(target) == pin.sha256:
            continue
        try:
            data = _fetch(pin, source)
        except OSError as error:
            problems.append(
                f"{pin.path}: cannot get {pin.url if source is None else source / pin.path}: {error}"
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != pin.sha256:
            problems.append(f"{pin.path}: sha256 {digest} differs from the pinned {pin.sha256}; not stored")
            continue
        _store(pin, data, target)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev crds", description="Fill the reference cache with the pinned upstream CRDs and examples."
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache directory (default: $GATEWAYCTL_REFERENCE_CACHE or ~/.cache/gatewayctl-tui/reference)",
    )
    parser.add_argument("--from", dest="source", type=Path, default=None, help="copy from a local tree")
    args = parser.parse_args(argv)
    cache = args.cache or cache_dir()
    problems = fill_cache(cache, args.source)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        return 1
    print(f"{len(PINS)} pinned files verified in {cache}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
