"""The console's own YAML files (themes, settings), parsed once and kept as JSON between starts.

Importing PyYAML costs 15-25 ms (its reader compiles a large regular expression), a tenth of the
console's start-up. Theme and settings files rarely change, so each parsed file is cached as JSON
under the user's cache directory, keyed by the file's path, size and change times, and parsed again
only when one of those moved. A missing, stale or unreadable cache entry just means parsing the YAML.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from connectors.paths import cache_dir


class YamlFileError(ValueError):
    """The file is not valid YAML; the message says where (line and column)."""


def load_yaml_file(path: Path) -> Any:
    """The parsed contents of ``path``. Raises OSError (e.g. FileNotFoundError) or YamlFileError."""
    stat = path.stat()
    key = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"
    name = str(path.resolve())
    entry = cache_dir() / "yaml" / (name.strip("/").replace("%", "%25").replace("/", "%2F") + ".json")
    try:
        cached = json.loads(entry.read_text(encoding="utf-8"))
        if cached["path"] == name and cached["key"] == key:
            return cached["data"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    data = parse_yaml(path.read_text(encoding="utf-8"))
    _store(entry, {"path": name, "key": key, "data": data})
    return data


def parse_yaml(text: str) -> Any:
    import yaml  # only when a file changed since it was cached

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when present: ~6x faster
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise YamlFileError(str(exc)) from exc


def _store(entry: Path, record: dict[str, Any]) -> None:
    """Write the entry atomically; a value JSON cannot hold (a date) or a read-only cache skips it."""
    try:
        text = json.dumps(record)
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".yaml-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, TypeError, ValueError):
        pass
