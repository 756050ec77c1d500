"""Saving a route edit without re-emitting the whole YAML file.

ruamel.yaml needs ~15 s to load and as long to dump a 10,000-route file here. A route edit only
touches that route's lines, so its list item is cut out, edited round-trip on its own and put back.
Any doubt (an unusual layout, an item that does not round-trip byte for byte, a result that does
not read back as the new route) returns None and the caller edits the whole document instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from ..model import Gateway, route_to_dict
from ..model.serialize import route_from_dict
from .yaml_doc import dump, make_yaml, merge

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


def splice_routes(text: str, old: Gateway, new: Gateway, indent: tuple[int, int]) -> str | None:
    """``text`` (which reads as ``old``) with only the changed routes' lines rewritten to read as
    ``new``; None when this cannot be done safely (routes added, removed or moved, other keys)."""
    if (old.name, old.listeners, old.backends, old.access_log) != (
        new.name,
        new.listeners,
        new.backends,
        new.access_log,
    ):
        return None
    if [r.name for r in old.routes] != [r.name for r in new.routes]:
        return None
    changed = [i for i, (a, b) in enumerate(zip(old.routes, new.routes, strict=True)) if a != b]
    if not changed:
        return text
    if not text.endswith("\n"):
        return None
    lines = text.splitlines(keepends=True)
    spans = route_spans(lines)
    if spans is None or len(spans) != len(old.routes):
        return None
    y = make_yaml(*indent)
    replacements: dict[int, str] = {}
    for i in changed:
        a, b = spans[i]
        mini = _HEAD + "".join(lines[a:b])
        try:
            doc = y.load(mini)
        except YAMLError:
            return None
        item = doc.get("routes", [None])[0] if isinstance(doc, CommentedMap) else None
        if not isinstance(item, CommentedMap) or item.get("name") != old.routes[i].name:
            return None
        if dump(doc, indent) != mini:
            return None  # this item does not round-trip byte for byte
        wanted = route_to_dict(new.routes[i])
        merge(item, route_to_dict(old.routes[i]), wanted)
        out = dump(doc, indent)
        if not out.startswith(_HEAD) or not _reads_as(out, wanted):
            return None
        replacements[i] = out[len(_HEAD) :]
    parts: list[str] = []
    pos = 0
    for i in sorted(replacements):
        a, b = spans[i]
        parts.append("".join(lines[pos:a]))
        parts.append(replacements[i])
        pos = b
    parts.append("".join(lines[pos:]))
    return "".join(parts)


def _reads_as(mini: str, wanted: dict[str, object]) -> bool:
    try:
        data = yaml.safe_load(mini)
        return route_to_dict(route_from_dict(data["routes"][0])) == wanted
    except Exception:
        return False
