"""Editing YAML text in place: only the characters of the nodes an edit changes are rewritten.

The document is composed (libyaml, with each node's start and end offsets); the old and the new
content, as plain data, are compared key by key and item by item, and each difference becomes a
text edit of that node alone: a scalar keeps its quoting, an entry removed takes its own lines
and nothing else (a comment line after it belongs to what follows), an entry added goes after its
last sibling in the sibling's style (flow or block). Every comment, blank line, key order and
style outside the edited nodes stays byte-identical. Anything unusual raises Unsupported and the
caller falls back to a round-trip re-emit; the caller also checks that the result reads as the
new content.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Spellings the reader accepts for the same key (the model writes the first).
_ALIASES = {"interval": ("per",), "match": ("matches",)}
_FLOW_WIDTH = 100
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


class Unsupported(Exception):
    """The layout is outside what the patcher edits safely."""


@dataclass
class _Patch:
    text: str
    indent: tuple[int, int]  # (mapping indent, offset of "- " under its key)
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, start: int, end: int, replacement: str) -> None:
        self.edits.append((start, end, replacement))

    def result(self) -> str:
        out = self.text
        last = len(out) + 1
        for start, end, replacement in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            if end > last:
                raise Unsupported("overlapping edits")
            out = out[:start] + replacement + out[end:]
            last = start
        return out

    # -- positions -------------------------------------------------------------------------

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        """Just after the newline of the line holding ``pos``."""
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl + 1

    def content_end(self, node: yaml.Node) -> int:
        """Where the node's own characters end (a block collection's end mark is after the
        comments and blank lines that follow it)."""
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and node.value:
            last = node.value[-1]
            return self.content_end(last[1] if isinstance(last, tuple) else last)
        end = node.end_mark.index
        while end > node.start_mark.index and self.text[end - 1].isspace():
            end -= 1
        return end

    def only_spaces_before(self, pos: int, allow_dash: bool = False) -> bool:
        before = self.text[self.line_start(pos) : pos]
        if allow_dash:
            before = before.replace("- ", "  ")
        return not before.strip(" ")


def patch_text(text: str, old: Any, new: Any, indent: tuple[int, int]) -> str:
    """``text`` (a YAML document reading as ``old``) edited to read as ``new``. Raises
    Unsupported when it cannot do so by editing the changed nodes alone."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise Unsupported(str(exc)) from None
    if not isinstance(root, yaml.MappingNode):
        raise Unsupported("not a mapping")
    p = _Patch(text, indent)
    _mapping(p, root, old, new)
    return p.result()


def _value(p: _Patch, node: yaml.Node, old: Any, new: Any) -> None:
    if old == new:
        return
    if isinstance(node, yaml.MappingNode) and isinstance(old, dict) and isinstance(new, dict):
        _mapping(p, node, old, new)
    elif isinstance(node, yaml.SequenceNode) and isinstance(old, list) and isinstance(new, list):
        _sequence(p, node, old, new)
    else:
        _replace(p, node, new)


def _replace(p: _Patch, node: yaml.Node, new: Any) -> None:
    """Rewrite the whole node as ``new``, in its own style."""
    start = node.start_mark.index
    if isinstance(node, yaml.ScalarNode):
        short = _short_form(new)
        if not isinstance(short, dict | list):
            p.add(start, node.end_mark.index, _scalar(short, node.style, flow=_in_flow(p, node)))
            return
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        block = _block(p, new, node.start_mark.column)
        p.add(start, p.content_end(node), block)
        return
    p.add(start, p.content_end(node), _flow(new, _quote_of(node)))


def _in_flow(p: _Patch, node: yaml.Node) -> bool:
    before = p.text[p.line_start(node.start_mark.index) : node.start_mark.index]
    return before.count("[") + before.count("{") > before.count("]") + before.count("}")


# ---------------------------------------------------------------- mappings


def _entries(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise Unsupported("a complex key")
        out[str(k.value)] = (k, v)
    return out


def _mapping(p: _Patch, node: yaml.MappingNode, old: dict[str, Any], new: dict[str, Any]) -> None:
    entries = _entries(node)

    def raw_key(key: str) -> str | None:
        spellings: tuple[str, ...] = (key, *_ALIASES.get(key, ()))
        for k in spellings:
            if k in entries:
                return k
        return None

    removed = [entries[r] for k in old if k not in new and (r := raw_key(k)) is not None]
    if removed and len(removed) == len(entries):
        _replace(p, node, new)
        return
    added: list[tuple[str, Any]] = []
    for key, value in new.items():
        if key in old and old[key] == value:
            continue
        raw = raw_key(key)
        if raw is None:
            added.append((key, value))
            continue
        key_node, value_node = entries[raw]
        if raw != key:
            p.add(key_node.start_mark.index, key_node.end_mark.index, key)
        _value(p, value_node, old.get(key), value)
    for key_node, value_node in removed:
        _remove_entry(p, node, key_node, value_node)
    if added:
        _add_entries(p, node, added)


def _remove_entry(p: _Patch, node: yaml.MappingNode, key: yaml.Node, value: yaml.Node) -> None:
    if node.flow_style:
        index = [k for k, _ in node.value].index(key)
        _remove_flow(p, [(k.start_mark.index, p.content_end(v)) for k, v in node.value], index, index + 1)
        return
    start = key.start_mark.index
    if not p.only_spaces_before(start):
        raise Unsupported("removing the first key of a list item")
    p.add(p.line_start(start), p.line_end(p.content_end(value)), "")


def _add_entries(p: _Patch, node: yaml.MappingNode, added: list[tuple[str, Any]]) -> None:
    last_value = node.value[-1][1]
    if node.flow_style:
        text = "".join(f", {k}: {_flow(v)}" for k, v in added)
        p.add(p.content_end(last_value), p.content_end(last_value), text)
        return
    column = node.value[0][0].start_mark.column
    lines = [" " * column + _block_entry(p, k, v, column) for k, v in added]
    at = p.line_end(p.content_end(last_value))
    lead = "" if p.text[at - 1 : at] == "\n" else "\n"
    p.add(at, at, lead + "\n".join(lines) + "\n")


# ---------------------------------------------------------------- sequences


def _sequence(p: _Patch, node: yaml.SequenceNode, old: list[Any], new: list[Any]) -> None:
    items = list(node.value)
    if len(items) != len(old):
        _replace(p, node, new)
        return
    if not new:
        _replace(p, node, new)
        return
    keys_old = [json.dumps(x, sort_keys=True) for x in old]
    keys_new = [json.dumps(x, sort_keys=True) for x in new]
    ops = difflib.SequenceMatcher(a=keys_old, b=keys_new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            _value(p, items[i1 + k], old[i1 + k], new[j1 + k])
        if i1 + pairs < i2:
            _remove_items(p, node, i1 + pairs, i2)
        if j1 + pairs < j2:
            _insert_items(p, node, i2, new[j1 + pairs : j2])


def _remove_items(p: _Patch, node: yaml.SequenceNode, i1: int, i2: int) -> None:
    items = node.value
    if node.flow_style:
        _remove_flow(p, [(x.start_mark.index, p.content_end(x)) for x in items], i1, i2)
        return
    start = items[i1].start_mark.index
    if not p.only_spaces_before(start, allow_dash=True):
        raise Unsupported("a list item that does not start its line")
    p.add(p.line_start(start), p.line_end(p.content_end(items[i2 - 1])), "")


def _remove_flow(p: _Patch, spans: list[tuple[int, int]], i1: int, i2: int) -> None:
    """Remove entries i1..i2 of a flow collection, with their commas."""
    if i1 > 0:
        p.add(spans[i1 - 1][1], spans[i2 - 1][1], "")
    elif i2 < len(spans):
        p.add(spans[0][0], spans[i2][0], "")
    else:
        raise Unsupported("emptying a flow collection")


def _insert_items(p: _Patch, node: yaml.SequenceNode, at: int, values: list[Any]) -> None:
    items = node.value
    like = items[min(at, len(items) - 1)]
    values = [_like(v, like) for v in values]
    style = _quote_of(like)
    if node.flow_style:
        texts = [_flow(v, style) for v in values]
        if at < len(items):
            p.add(items[at].start_mark.index, items[at].start_mark.index, "".join(t + ", " for t in texts))
        else:
            end = p.content_end(items[-1])
            p.add(end, end, "".join(", " + t for t in texts))
        return
    column = p.text.rfind("- ", p.line_start(items[0].start_mark.index), items[0].start_mark.index)
    if column < 0:
        raise Unsupported("a block list without '- '")
    column -= p.line_start(items[0].start_mark.index)
    lines = []
    for v in values:
        body = _scalar(v, style, flow=False) if not isinstance(v, dict | list) else _block(p, v, column + 2)
        lines.append(" " * column + "- " + body)
    text = "\n".join(lines) + "\n"
    pos = (
        p.line_start(items[at].start_mark.index) if at < len(items) else p.line_end(p.content_end(items[-1]))
    )
    p.add(pos, pos, text)


def _short_form(value: Any) -> Any:
    """The scalar a reader takes for ``value``: ``{exact: x}`` is ``x`` (an origin), a backend with
    weight 100 is its name."""
    if isinstance(value, dict):
        if list(value) == ["exact"] and isinstance(value["exact"], str):
            return value["exact"]
        if set(value) == {"name", "weight"} and value["weight"] == 100:
            return value["name"]
    return value


def _like(value: Any, sibling: yaml.Node) -> Any:
    return _short_form(value) if isinstance(sibling, yaml.ScalarNode) else value


# ---------------------------------------------------------------- writing new nodes


def _scalar(value: Any, style: str | None, *, flow: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if style == "'" and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    if style == '"' or not _plain_ok(text, flow):
        return json.dumps(text, ensure_ascii=False)
    return text


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or "\n" in text or text[0] in _INDICATORS:
        return False
    if ": " in text or " #" in text or text.endswith(":") or (flow and any(c in text for c in ",[]{}")):
        return False
    try:
        return bool(yaml.load(text, Loader=_Loader) == text)
    except yaml.YAMLError:
        return False


def _flow(value: Any, quote: str | None = None) -> str:
    """Flow style; string values quoted as ``quote`` (the file's quoting nearby) when given."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v, quote)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v, quote) for v in value) + "]"
    return _scalar(value, quote if isinstance(value, str) else None, flow=True)


def _quote_of(node: yaml.Node) -> str | None:
    """How the first string in ``node`` is quoted ('"', "'" or None for plain)."""
    if isinstance(node, yaml.ScalarNode):
        return node.style if node.style in ('"', "'") else None
    children = node.value if isinstance(node, yaml.SequenceNode) else [v for _, v in node.value]
    for child in children:
        if isinstance(child, yaml.ScalarNode) and child.tag.endswith(":str"):
            return _quote_of(child)
        if not isinstance(child, yaml.ScalarNode):
            return _quote_of(child)
    return None


def _flat(value: Any) -> bool:
    """Small enough to read well on one line: a list or mapping of scalars (or of flat mappings)."""
    items = value.values() if isinstance(value, dict) else value
    return (
        all(
            not isinstance(x, list)
            and (not isinstance(x, dict) or all(not isinstance(y, dict | list) for y in x.values()))
            for x in items
        )
        and len(_flow(value)) <= _FLOW_WIDTH
    )


def _block_entry(p: _Patch, key: str, value: Any, column: int) -> str:
    if not isinstance(value, dict | list):
        return f"{key}: {_scalar(value, None, flow=False)}"
    if not value or _flat(value):
        return f"{key}: {_flow(value)}"
    mapping, offset = p.indent
    inner = column + (offset if isinstance(value, list) else mapping)
    return f"{key}:\n" + " " * inner + _block(p, value, inner)


def _block(p: _Patch, value: Any, column: int) -> str:
    """``value`` in block style, its first line starting at ``column`` (not indented here)."""
    if isinstance(value, dict) and value:
        lines = [_block_entry(p, k, v, column) for k, v in value.items()]
        return ("\n" + " " * column).join(lines)
    if isinstance(value, list) and value:
        parts = []
        for v in value:
            body = _block(p, v, column + 2) if isinstance(v, dict | list) and v else _flow(v)
            parts.append("- " + body)
        return ("\n" + " " * column).join(parts)
    return _flow(value)
