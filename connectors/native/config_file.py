"""The gateway's YAML file: the source of truth of a native gateway.

Read fast (libyaml) into the model; saved round-trip, so comments, key order and formatting stay
byte-identical outside the fields that changed: a route edit rewrites only that route's lines
(``yaml_splice``), anything else edits the whole document with ruamel.yaml (``yaml_doc``). The file
is replaced atomically (temp file, fsync, rename) so a crash never leaves half a config.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigSyntaxError, ValidationError
from ..model import Gateway, gateway_from_dict, gateway_to_dict
from . import yaml_undo
from .xds import atomic_write
from .yaml_doc import dump, guess_indent, parse, update_document
from .yaml_limits import MAX_FILE_BYTES, check_expansion, check_size
from .yaml_patch import Unsupported, patch_text
from .yaml_splice import RouteLines, splice_routes

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,39}$")
_TOP_KEYS = {"name", "listeners", "backends", "routes"}
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
                    f"duplicate key {key!r}" if _IDENT.match(str(key)) else "a key is given twice",
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def file_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def load_text(text: str, source: str) -> Any:
    """Plain data from YAML text; syntax errors carry 1-based line and column."""
    check_size(len(text), source)
    loader = _StrictLoader(text)
    loader._source = source
    try:
        node = loader.get_single_node()
        check_expansion(node, source)
        return None if node is None else loader.construct_document(node)
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


def patch_document(text: str, old: Gateway, new: Gateway, indent: tuple[int, int]) -> str | None:
    """``text`` with only the nodes that differ between ``old`` and ``new`` rewritten, or None."""
    try:
        out = patch_text(text, gateway_to_dict(old), gateway_to_dict(new), indent)
        data = load_text(out, "edited config")
        return out if gateway_from_dict(data) == new else None
    except (Unsupported, ValidationError):
        return None


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
            with open(path, "rb") as fh:  # never more than the cap: the path may be /dev/zero
                raw = fh.read(MAX_FILE_BYTES + 1)
            check_size(len(raw), str(path))
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
        if not data.keys() & _TOP_KEYS:  # not a gateway config: say so, echo none of its lines
            raise ConfigSyntaxError(
                str(path),
                1,
                1,
                "this is not a gateway config (it has none of name, listeners, backends, routes)",
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

    def prepare(self, new: Gateway) -> tuple[str, RouteLines | None]:
        """The text ``save`` would write for ``new`` (and the route index of it), ahead of the save:
        the change journal records it before anything is touched."""
        return self._render(new)

    def _render(self, new: Gateway) -> tuple[str, RouteLines | None]:
        restored = yaml_undo.recall(self.path, self.version, self.gateway, new)
        if restored is not None:
            return restored, None
        spliced = splice_routes(self.text, self.gateway, new, self.indent, self._index)
        if spliced is not None:
            return spliced
        patched = patch_document(self.text, self.gateway, new, self.indent)
        if patched is not None:
            return patched, None
        doc, indent = parse(self.text, str(self.path))
        update_document(doc, self.gateway, new)
        return dump(doc, indent), None

    def save(self, new: Gateway, text: str | None = None, index: RouteLines | None = None) -> None:
        """Write ``new`` (as ``text`` when rendered already, see ``prepare``) over the file, atomically."""
        if text is None:
            text, index = self._render(new)
        atomic_write(self.path, text, fsync=True, keep_mode=True)
        version = file_version(text.encode("utf-8"))
        yaml_undo.remember(self.path, self.text, self.gateway, new, version)
        self.text = text
        self.version = version
        self.gateway = new
        self._stat = _stat_key(self.path)
        self._index = index
