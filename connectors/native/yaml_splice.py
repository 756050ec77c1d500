"""Edit routes in a large gateway YAML without re-emitting the whole file.

A full ruamel round trip of a 10,000-route file takes ~18 s to load and ~11 s to dump here, so a
weight change would take half a minute to persist. Routes are items of the top-level ``routes:``
block sequence; we find each item's lines by indentation, round-trip only the changed items with
ruamel (which keeps their comments and key order) and splice them back. Everything else stays
byte-identical. When the layout is not the plain block style we expect, ``splice_routes`` returns
None and the caller falls back to a whole-document round trip.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..errors import ValidationError
from ..model import Route, route_from_dict, route_to_dict

_ROUTES_KEY = re.compile(r"^routes:[ \t]*(#.*)?$")
_ITEM = re.compile(r"^( *)- ")
_NAME = re.compile(r"""^ *(?:- +)?name: *["']?([A-Za-z0-9_-]+)["']? *(#.*)?$""")
_TOP_LEVEL = re.compile(r"^[^\s#-]")


def _round_trip_yaml(offset: int) -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=offset + 2, offset=offset)
    return y


def _route_blocks(lines: list[str]) -> tuple[dict[str, tuple[int, int]], int] | None:
    """Map route name -> (first line, end line) of its block; plus the items' indent."""
    start = next((i for i, line in enumerate(lines) if _ROUTES_KEY.match(line)), None)
    if start is None:
        return None
    items: list[int] = []
    indent: int | None = None
    end = len(lines)
    for i in range(start + 1, len(lines)):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _ITEM.match(line)
        if m and (indent is None or len(m.group(1)) == indent):
            indent = len(m.group(1))
            items.append(i)
            continue
        current = len(line) - len(line.lstrip(" "))
        if indent is None or current < indent or (current == indent and _TOP_LEVEL.match(line)):
            end = i
            break
    if indent is None:
        return None
    # Trailing blank/comment lines before the next top-level key stay outside the last block.
    while end > items[-1] + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    blocks: dict[str, tuple[int, int]] = {}
    bounds = [*items, end]
    for first, nxt in itertools.pairwise(bounds):
        name = None
        for line in lines[first:nxt]:
            m = _NAME.match(line)
            if m and (len(line) - len(line.lstrip(" -"))) == indent + 2:
                name = m.group(1)
                break
        if name is None or name in blocks:
            return None
        blocks[name] = (first, nxt)
    return blocks, indent


def _sequence_offset(text: str) -> int:
    """0 when nested lists are written flush with their key ("key:\\n- a"), else 2."""
    m = re.search(r"^( *)[A-Za-z_]+:\n( *)- ", text, re.MULTILINE)
    return 2 if m is None or len(m.group(2)) > len(m.group(1)) else 0


# Spellings the reader accepts besides the canonical key that ``route_to_dict`` writes.
_ALIASES = {"interval": "per"}


def merge_into(node: Any, old: Any, new: Any) -> Any:
    """Change ``node`` (a ruamel structure read from YAML) from ``old`` to ``new`` touching only what
    differs, so comments and formatting of unchanged parts survive. Returns the value to store."""
    if isinstance(node, CommentedMap) and isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in [k for k in old if k not in new]:
            for spelled in (key, _ALIASES.get(key)):
                if spelled in node:
                    del node[spelled]
        for key, value in new.items():
            if key in old and old[key] == value:
                continue  # unchanged: keep the file's own spelling, or its omission of a default
            spelled = key if key in node or _ALIASES.get(key) not in node else _ALIASES[key]
            if spelled in node and key in old:
                node[spelled] = merge_into(node[spelled], old[key], value)
            else:
                node[spelled] = value
        return node
    if (
        isinstance(node, CommentedSeq)
        and isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
    ):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            if o != n:
                node[i] = merge_into(node[i], o, n)
        return node
    return new


def _edited_block(block: str, indent: int, before: Route, after: Route, offset: int) -> str:
    # Blank and comment lines after the item belong to the layout between items: keep them verbatim.
    block_lines = block.split("\n")
    tail: list[str] = []
    while len(block_lines) > 1 and (not block_lines[-1].strip() or block_lines[-1].lstrip().startswith("#")):
        tail.insert(0, block_lines.pop())
    # Loaded at its own indentation so ruamel keeps the comments' absolute columns.
    y = _round_trip_yaml(offset)
    seq = y.load("\n".join(block_lines))
    item = seq[0]
    new = route_to_dict(after)
    merge_into(item, route_to_dict(before), new)
    if _parse_route(item) != after:
        # The file spells a field differently from the canonical form (e.g. `per:` for `interval:`):
        # replace the top-level fields that still differ, then the whole route as a last resort.
        for key, value in new.items():
            if key not in item or _plain(item[key]) != value:
                item[key] = value
        for key in [k for k in item if k not in new]:
            del item[key]
        if _parse_route(item) != after:
            seq[0] = new
    out = io.StringIO()
    y.dump(seq, out)
    dumped = out.getvalue().rstrip("\n").split("\n")
    lead = len(dumped[0]) - len(dumped[0].lstrip(" "))  # ruamel indents a top-level list by `offset`
    body = [(" " * indent + line[lead:]) if line.strip() else "" for line in dumped]
    return "\n".join(body + tail)


def _plain(node: Any) -> Any:
    return yaml.safe_load(_dump(node))


def _dump(node: Any) -> str:
    out = io.StringIO()
    YAML().dump(node, out)
    return out.getvalue()


def _parse_route(node: Any) -> Route | None:
    try:
        return route_from_dict(_plain(node))
    except (ValidationError, yaml.YAMLError):
        return None


def splice_routes(text: str, changes: list[tuple[Route, Route]]) -> str | None:
    """Return ``text`` with each (before, after) route rewritten in place, or None when the layout is
    not one we can edit surgically (the caller then round-trips the whole document)."""
    lines = text.split("\n")
    found = _route_blocks(lines)
    if found is None:
        return None
    blocks, indent = found
    offset = _sequence_offset(text)
    replacements: list[tuple[int, int, str]] = []
    for before, after in changes:
        if before.name != after.name or before.name not in blocks:
            return None
        first, end = blocks[before.name]
        block = "\n".join(lines[first:end])
        edited = _edited_block(block, indent, before, after, offset)
        check = yaml.load("routes:\n" + edited + "\n", Loader=yaml.CSafeLoader)
        if not isinstance(check, dict) or route_from_dict(check["routes"][0]) != after:
            return None
        replacements.append((first, end, edited))
    for first, end, edited in sorted(replacements, reverse=True):
        lines[first:end] = edited.split("\n")
    return "\n".join(lines)
