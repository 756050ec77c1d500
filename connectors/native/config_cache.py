"""Read the gateway YAML fast: PyYAML's C loader, plus a JSON copy of the parsed data keyed by the
file's SHA-256 so re-reading an unchanged 10,000-route file takes ~20 ms instead of ~3 s."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigSyntaxError, Problem, ValidationError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML; a syntax error becomes ConfigSyntaxError with a 1-based line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # a safe loader (C or pure Python)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise ConfigSyntaxError(source, line, column, reason) from None
    except yaml.YAMLError as exc:
        raise ConfigSyntaxError(source, 0, 0, str(exc)) from None


def load_config_data(path: Path, cache: Path | None = None) -> tuple[Any, str]:
    """The parsed YAML of ``path`` and the file's digest. Uses and refreshes ``cache`` when given."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError([Problem("", f"cannot read {path}: {exc.strerror or exc}")]) from None
    digest = file_digest(raw)
    if cache is not None:
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if cached.get("digest") == digest:
                return cached["data"], digest
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # absent or stale cache: parse the YAML
    data = parse_yaml(raw.decode("utf-8", errors="replace"), str(path))
    if cache is not None:
        store_cache(cache, data, digest)
    return data, digest


def store_cache(cache: Path, data: Any, digest: str) -> None:
    """Write the cache atomically; a failure only costs speed next time."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".cache-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"digest": digest, "data": data}, fh)
        os.replace(tmp, cache)
    except (OSError, TypeError, ValueError):
        return
