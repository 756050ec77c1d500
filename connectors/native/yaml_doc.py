"""Round-trip editing of the YAML document with ruamel.yaml: comments, key order, quoting and
indentation are kept, and only the fields that changed are touched."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import ConfigSyntaxError
from ..model import Gateway, gateway_to_dict, route_to_dict

# Spellings the reader accepts for the same field: replacing one removes the other.
_ALIASES: dict[str, tuple[str, ...]] = {
    "interval": ("per",),
    "per": ("interval",),
    "match": ("matches",),
    "matches": ("match",),
}


def make_yaml(mapping: int = 2, offset: int = 0) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 1 << 16  # never re-wrap long lines (inline JWKS) on save
    y.brace_single_entry_mapping_in_flow_sequence = True  # keep [{exact: x}] as written
    y.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return y


def guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, offset of "- " under its key) as the file is written; 2 and 0 if unclear."""
    mapping: int | None = None
    offset: int | None = None
    previous: tuple[int, str] | None = None
    for line in text.splitlines():
        content = line.split(" #", 1)[0].rstrip()
        if not content.strip() or content.lstrip().startswith("#"):
            continue
        indent = len(content) - len(content.lstrip())
        stripped = content.strip()
        if previous is not None and previous[1].endswith(":") and not previous[1].startswith("- "):
            if stripped.startswith("- ") or stripped == "-":
                if offset is None and indent >= previous[0]:
                    offset = indent - previous[0]
            elif mapping is None and indent > previous[0]:
                mapping = indent - previous[0]
        if mapping is not None and offset is not None:
            break
        previous = (indent, stripped)
    return mapping or 2, offset or 0


def parse(text: str, source: str) -> tuple[CommentedMap, tuple[int, int]]:
    try:
        indent = guess_indent(text)
        data = make_yaml(*indent).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        raise ConfigSyntaxError(source, line, column, reason) from exc
    except YAMLError as exc:
        raise ConfigSyntaxError(source, 1, 1, str(exc)) from exc
    if not isinstance(data, CommentedMap):
        raise ConfigSyntaxError(
            source, 1, 1, "the file must hold a mapping (name, listeners, backends, routes)"
        )
    return data, indent


def update_document(doc: CommentedMap, old: Gateway, new: Gateway) -> None:
    """Change ``doc`` (whose content is ``old``) so it reads as ``new``, touching only what differs."""
    old_top, new_top = gateway_to_dict(old), gateway_to_dict(new)
    for key in ("name", "listeners", "backends", "access_log"):
        if old_top.get(key) != new_top.get(key):
            _set_key(doc, key, old_top.get(key), new_top.get(key))
    if old.routes == new.routes:
        return
    routes = doc.get("routes")
    if not isinstance(routes, CommentedSeq):
        doc["routes"] = _node([route_to_dict(r) for r in new.routes], None)
        return
    old_by_name = {r.name: r for r in old.routes}
    raw_by_name = {
        str(item.get("name")): item for item in routes if isinstance(item, CommentedMap) and "name" in item
    }
    flow = bool(routes) and isinstance(routes[0], CommentedMap) and routes[0].fa.flow_style()
    items: list[Any] = []
    for route in new.routes:
        before = old_by_name.get(route.name)
        raw = raw_by_name.get(route.name)
        if before is not None and raw is not None:
            if before != route:
                raw = merge(raw, route_to_dict(before), route_to_dict(route))
            items.append(raw)
        else:
            node = _node(route_to_dict(route), None)
            if flow and isinstance(node, CommentedMap):
                node.fa.set_flow_style()
            items.append(node)
    if [id(x) for x in items] != [id(x) for x in routes]:
        # Routes added, removed or reordered: rebuild the list in place (keeps its comments).
        keep = {id(x) for x in items}
        for i in range(len(routes) - 1, -1, -1):
            if id(routes[i]) not in keep:
                del routes[i]
        for i, item in enumerate(items):
            if i < len(routes) and routes[i] is item:
                continue
            if any(x is item for x in routes):
                routes.remove(item)
            routes.insert(i, item)


def _set_key(doc: CommentedMap, key: str, old: Any, new: Any) -> None:
    for alias in _ALIASES.get(key, ()):
        if alias in doc:
            pos = list(doc).index(alias)
            del doc[alias]
            if new is not None:
                doc.insert(pos, key, _node(new, None))
            return
    if new is None:
        doc.pop(key, None)
    elif key in doc and old is not None:
        doc[key] = merge(doc[key], old, new)
    else:
        doc[key] = _node(new, None)


def merge(raw: Any, old: Any, new: Any) -> Any:
    """``raw`` (a document node reading as ``old``) changed to read as ``new``; unchanged parts
    are kept as they are (same objects, comments, styles)."""
    if old == new:
        return raw
    if isinstance(raw, CommentedMap) and isinstance(old, dict) and isinstance(new, dict):
        for key in list(old):
            if key not in new:
                raw.pop(key, None)
                for alias in _ALIASES.get(key, ()):
                    raw.pop(alias, None)
        for key, value in new.items():
            if key in old and old[key] == value:
                continue
            _set_key(raw, key, old.get(key), value)
        return raw
    if (
        isinstance(raw, CommentedSeq)
        and isinstance(old, list)
        and isinstance(new, list)
        and len(raw) == len(old) == len(new)
    ):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            if o != n:
                raw[i] = merge(raw[i], o, n)
        return raw
    return _node(new, raw)


def _node(value: Any, like: Any) -> Any:
    """Plain data as document nodes, in flow style when the node it replaces was."""
    flow = isinstance(like, CommentedMap | CommentedSeq) and like.fa.flow_style()
    if isinstance(value, dict):
        m = CommentedMap((k, _node(v, None)) for k, v in value.items())
        if flow:
            m.fa.set_flow_style()
        return m
    if isinstance(value, list):
        s = CommentedSeq(_node(v, None) for v in value)
        if flow:
            s.fa.set_flow_style()
        return s
    return value


def dump(data: Any, indent: tuple[int, int]) -> str:
    out = io.StringIO()
    make_yaml(*indent).dump(data, out)
    return out.getvalue()
