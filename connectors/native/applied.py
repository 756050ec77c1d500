"""The last applied configuration of a native gateway: what this tool last made Envoy serve.

Kept in the state directory after every start and every completed change:

    applied.yaml   the YAML text that was applied (what Envoy serves, as the operator wrote it)
    applied.json   its version (hash) and, per xDS file, the hash of the bytes written then

Comparing with it is cheap (a hash of the YAML, a stat of each xDS file) and tells the drift check
whether the YAML or an xDS file changed behind the tool's back (see ``drift``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..model import Gateway, gateway_from_dict
from .render import Layout
from .versions import limit_files, limit_route
from .xds import atomic_write

YAML_FILE = "applied.yaml"
RECORD_FILE = "applied.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def xds_files(layout: Layout, listener_names: list[str]) -> list[Path]:
    """The xDS files Envoy watches for a gateway with these listeners (with the routes' limiter
    files, ECDS: a hand edit of a bucket is drift too)."""
    return [layout.cds, layout.lds, *(layout.rds(n) for n in listener_names), *limit_files(layout)]


@dataclass
class Applied:
    """``applied.json``: the applied YAML's version and each xDS file's hash (and stat, to skip
    hashing files that were not touched)."""

    yaml_version: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, state_dir: Path) -> Applied | None:
        try:
            data = json.loads((state_dir / RECORD_FILE).read_text(encoding="utf-8"))
            return cls(str(data["yaml_version"]), dict(data.get("files", {})))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def changed_files(self, layout: Layout, listener_names: list[str]) -> list[str]:
        """The xDS files whose bytes are not the ones this tool last wrote (by file name)."""
        paths = xds_files(layout, listener_names)
        present = {p.name for p in paths}
        # A limiter file removed behind the tool's back (the listener still names it).
        out = sorted(n for n in self.files if limit_route(Path(n)) is not None and n not in present)
        for path in paths:
            known = self.files.get(path.name)
            if known is None:
                out.append(path.name)
                continue
            if _stat(path) == known.get("stat"):
                continue
            try:
                if _sha(path.read_bytes()) != known.get("sha256"):
                    out.append(path.name)
            except OSError:
                out.append(path.name)
        return out


def record(state_dir: Path, text: str, version: str, layout: Layout, listener_names: list[str]) -> None:
    """Note that ``text`` (whose version is ``version``) and the xDS files now on disk are applied."""
    previous = Applied.read(state_dir)
    files: dict[str, dict[str, Any]] = {}
    for path in xds_files(layout, listener_names):
        stat = _stat(path)
        known = previous.files.get(path.name) if previous is not None else None
        if stat is not None and known is not None and known.get("stat") == stat:
            files[path.name] = known  # not rewritten since: no need to read 10 MB of clusters again
            continue
        try:
            files[path.name] = {"sha256": _sha(path.read_bytes()), "stat": stat}
        except OSError:
            continue
    if previous is None or previous.yaml_version != version or not (state_dir / YAML_FILE).exists():
        atomic_write(state_dir / YAML_FILE, text, fsync=True)
        os.chmod(state_dir / YAML_FILE, 0o600)
    record = {"yaml_version": version, "files": files}
    atomic_write(state_dir / RECORD_FILE, json.dumps(record, indent=1) + "\n", fsync=True)


def applied_text(state_dir: Path) -> str | None:
    try:
        return (state_dir / YAML_FILE).read_text(encoding="utf-8")
    except OSError:
        return None


def applied_model(state_dir: Path) -> Gateway | None:
    """The last applied model (None when it was never recorded or cannot be read)."""
    from .config_file import load_text

    text = applied_text(state_dir)
    if text is None:
        return None
    try:
        data = load_text(text, str(state_dir / YAML_FILE))
        return gateway_from_dict(data) if isinstance(data, dict) else None
    except ValidationError:  # an unreadable record is "unknown", never an error of its own
        return None
