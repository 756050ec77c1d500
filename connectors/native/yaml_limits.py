"""Caps on what a gateway YAML file may make the loader do, checked on the composed node graph
before any Python object is built: a 671-byte "billion laughs" (nine aliases of nine aliases...)
would otherwise expand to hundreds of millions of nodes in the model reader.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import ConfigSyntaxError

# A 10,000-route file is ~4 MB and ~300,000 nodes; ten times that is still a plausible file.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_EXPANDED_NODES = 3_000_000


def check_size(size: int, source: str) -> None:
    if size > MAX_FILE_BYTES:
        raise ConfigSyntaxError(
            source,
            1,
            1,
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; is it a gateway config?",
        )


def check_expansion(root: yaml.Node | None, source: str) -> None:
    """Refuse a graph whose aliases expand to more than MAX_EXPANDED_NODES nodes, or that refers
    to itself (a recursive alias). Sizes are memoised per node, so this is linear in the file."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: deep nesting must not hit Python's recursion limit.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_EXPANDED_NODES:
                _refuse(node, source, f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes")
            continue
        if key in sizes:
            continue
        if key in on_path:
            _refuse(node, source, "an alias refers to a node that contains it (a recursive alias)")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                _refuse(child, source, "an alias refers to a node that contains it (a recursive alias)")
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _refuse(node: yaml.Node, source: str, reason: str) -> None:
    mark = node.start_mark
    raise ConfigSyntaxError(source, mark.line + 1, mark.column + 1, reason)
