"""Saving a route edit without re-emitting the whole YAML file.

ruamel.yaml needs ~15 s to load and as long to dump a 10,000-route file here. A route edit only
touches that route's lines, so its list item is cut out, edited round-trip on its own and put back.
Any doubt (an unusual layout, an item that does not round-trip byte for byte, a result that does
not read back as the new route) returns None and the caller edits the whole document instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from ..model import Gateway, Route, route_to_dict
from ..model.serialize import route_from_dict
from .yaml_doc import dump, make_yaml, merge
from .yaml_patch import Unsupported, patch_text

_HEAD = "routes:\n"


def route_spans(lines: Sequence[str]) -> list[tuple[int, int]] | None:
    """[start, end) line ranges of the items of the top-level block list ``routes``."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith(("---", "...")) and i > 0:
            return None  # several documents
        if line.startswith("routes:"):
            if line[len("routes:") :].split("#", 1)[0].strip():
                return None  # a flow list or an alias
            start = i
            break
    if start is None:
        return None
    spans: list[tuple[int, int]] = []
    item_indent: int | None = None
    current: int | None = None
    end = len(lines)
    for j in range(start + 1, len(lines)):
        line = lines[j]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" in line[: len(line) - len(line.lstrip())]:
            return None
        indent = len(line) - len(line.lstrip(" "))
        is_item = stripped.startswith("- ") or stripped == "-"
        if item_indent is None:
            if not is_item:
                return None
            item_indent = indent
        if indent == item_indent and is_item:
            if current is not None:
                spans.append((current, j))
            current = j
        elif indent <= item_indent:
            end = j  # the next top-level key
            break
    if current is not None:
        spans.append((current, end))
    return spans


@dataclass(frozen=True)
class RouteLines:
    """A file's lines and the line range of each item of its ``routes`` list."""

    lines: list[str]
    spans: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str) -> RouteLines | None:
        if not text.endswith("\n"):
            return None
        lines = text.splitlines(keepends=True)
        spans = route_spans(lines)
        return cls(lines, spans) if spans is not None else None

    def replaced(self, items: dict[int, list[str]]) -> RouteLines:
        """These lines with the items numbered in ``items`` replaced by those lines, re-indexed."""
        new_lines: list[str] = []
        new_spans: list[tuple[int, int]] = []
        pos = 0
        for i, (a, b) in enumerate(self.spans):
            shift = len(new_lines) - pos  # old line x (at or after pos) is new line x + shift
            if i in items:
                new_lines.extend(self.lines[pos:a])
                start = len(new_lines)
                new_lines.extend(items[i])
                new_spans.append((start, len(new_lines)))
                pos = b
            else:
                new_spans.append((a + shift, b + shift))
        new_lines.extend(self.lines[pos:])
        return RouteLines(new_lines, new_spans)


def splice_routes(
    text: str, old: Gateway, new: Gateway, indent: tuple[int, int], index: RouteLines | None = None
) -> tuple[str, RouteLines | None] | None:
    """``text`` (which reads as ``old``, its lines indexed by ``index`` when known) with only the
    changed routes' lines rewritten to read as ``new``, and the new text's index; None when this
    cannot be done safely (routes added, removed or moved, other top-level keys changed)."""
    if (old.name, old.listeners, old.backends, old.access_log) != (
        new.name,
        new.listeners,
        new.backends,
        new.access_log,
    ):
        return None
    if len(old.routes) != len(new.routes) or any(
        a.name != b.name for a, b in zip(old.routes, new.routes, strict=True)
    ):
        return None
    changed = [
        i for i, (a, b) in enumerate(zip(old.routes, new.routes, strict=True)) if a is not b and a != b
    ]
    if not changed:
        return text, index
    index = index or RouteLines.of(text)
    if index is None or len(index.spans) != len(old.routes):
        return None
    y = make_yaml(*indent)
    replacements: dict[int, list[str]] = {}
    for i in changed:
        a, b = index.spans[i]
        item = _rewritten(_HEAD + "".join(index.lines[a:b]), old.routes[i], new.routes[i], y, indent)
        if item is None:
            return None
        replacements[i] = item
    spliced = index.replaced(replacements)
    return "".join(spliced.lines), spliced


def _rewritten(mini: str, old: Route, new: Route, y: YAML, indent: tuple[int, int]) -> list[str] | None:
    """The lines of one route item (``mini``: the item under ``routes:``) rewritten to read as
    ``new``: only its changed nodes when it can (``_patched``), else the item round-tripped; None
    when neither is safe."""
    wanted = route_to_dict(new)
    patched = _patched(mini, route_to_dict(old), wanted, indent)
    if patched is not None:
        return patched[len(_HEAD) :].splitlines(keepends=True)
    try:
        doc = y.load(mini)
    except YAMLError:
        return None
    item = doc.get("routes", [None])[0] if isinstance(doc, CommentedMap) else None
    if not isinstance(item, CommentedMap) or item.get("name") != old.name:
        return None
    if dump(doc, indent) != mini:
        return None  # this item does not round-trip byte for byte
    merge(item, route_to_dict(old), wanted)
    out = dump(doc, indent)
    if not out.startswith(_HEAD) or not _reads_as(out, wanted):
        return None
    return out[len(_HEAD) :].splitlines(keepends=True)


def _patched(
    mini: str, old: dict[str, object], new: dict[str, object], indent: tuple[int, int]
) -> str | None:
    """The item's text with only its changed nodes rewritten (``yaml_patch``), or None."""
    try:
        out = patch_text(mini, {"routes": [old]}, {"routes": [new]}, indent)
    except Unsupported:
        return None
    return out if out.startswith(_HEAD) and _reads_as(out, new) else None


def _reads_as(mini: str, wanted: dict[str, object]) -> bool:
    try:
        data = yaml.safe_load(mini)
        return route_to_dict(route_from_dict(data["routes"][0])) == wanted
    except Exception:
        return False
