"""The gateway's YAML file: the source of truth of a native gateway.

Read fast (libyaml) into the model; saved round-trip, so comments, key order and formatting stay
byte-identical outside the fields that changed: a route edit rewrites only that route's lines
(``yaml_splice``), anything else edits the whole document with ruamel.yaml (``yaml_doc``). The file
is replaced atomically (temp file, fsync, rename) so a crash never leaves half a config.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigSyntaxError, ValidationError
from ..model import Gateway, gateway_from_dict
from .xds import atomic_write
from .yaml_doc import dump, guess_indent, parse, update_document
from .yaml_splice import RouteLines, splice_routes

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_Loader):  # type: ignore[misc]
    """Safe loading that refuses a key given twice in one mapping (YAML forbids it; PyYAML
    would silently keep the last one)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                mark = key_node.start_mark
                raise ConfigSyntaxError(
                    str(getattr(self, "_source", "config")),
                    mark.line + 1,
                    mark.column + 1,
                    f"duplicate key {key!r}",
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def file_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def load_text(text: str, source: str) -> Any:
    """Plain data from YAML text; syntax errors carry 1-based line and column."""
    loader = _StrictLoader(text)
    loader._source = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise ConfigSyntaxError(source, line, column, exc.problem or exc.context or "invalid YAML") from exc
    except yaml.YAMLError as exc:
        raise ConfigSyntaxError(source, 1, 1, str(exc)) from exc
    finally:
        loader.dispose()


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass
class ConfigFile:
    """The native YAML file as read: its text, version and model, to splice a change into."""

    path: Path
    text: str
    version: str
    gateway: Gateway
    indent: tuple[int, int]
    _stat: tuple[int, int, int] | None = field(default=None, repr=False)
    # The lines of ``text`` and where each route is in them, once known (saves a scan per save).
    _index: RouteLines | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        stat = _stat_key(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise ValidationError([], f"config file {path} does not exist") from exc
        except OSError as exc:
            raise ValidationError([], f"cannot read config file {path}: {exc.strerror}") from exc
        text = raw.decode("utf-8", "replace")
        data = load_text(text, str(path))
        if not isinstance(data, dict):
            raise ConfigSyntaxError(
                str(path), 1, 1, "the file must hold a mapping (name, listeners, backends, routes)"
            )
        return cls(path, text, file_version(raw), gateway_from_dict(data), guess_indent(text), stat)

    def changed_on_disk(self) -> bool:
        """Whether the file is no longer what was loaded (or last saved) here."""
        stat = _stat_key(self.path)
        if stat is not None and stat == self._stat:
            return False
        try:
            changed = file_version(self.path.read_bytes()) != self.version
        except OSError:
            return True
        if not changed:
            self._stat = stat
        return changed

    def render(self, new: Gateway) -> str:
        """The file's text edited to read as ``new`` (nothing is written)."""
        return self._render(new)[0]

    def _render(self, new: Gateway) -> tuple[str, RouteLines | None]:
        spliced = splice_routes(self.text, self.gateway, new, self.indent, self._index)
        if spliced is not None:
            return spliced
        doc, indent = parse(self.text, str(self.path))
        update_document(doc, self.gateway, new)
        return dump(doc, indent), None

    def save(self, new: Gateway, text: str | None = None) -> None:
        """Write ``new`` (as ``text`` when rendered already) over the file, atomically."""
        index = None
        if text is None:
            text, index = self._render(new)
        atomic_write(self.path, text, fsync=True, keep_mode=True)
        self.text = text
        self.version = file_version(text.encode("utf-8"))
        self.gateway = new
        self._stat = _stat_key(self.path)
        self._index = index
