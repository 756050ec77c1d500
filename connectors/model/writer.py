"""Writing the model as plain data, the counterpart of ``reader``: the optional parts of an object,
each through its converter, only when they say something (files and records stay short)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .types import HeaderRewrite

Part = tuple[str, Callable[[Any], Any]]
"""An attribute's name (also its key) and how it is written."""


def as_is(value: Any) -> Any:
    """The converter of a part written as it is."""
    return value


def says_something(value: object) -> bool:
    """Set: not None, and for a tuple or a header rewrite not empty (a 0 s timeout is a value)."""
    if value is None:
        return False
    return bool(value) if isinstance(value, tuple | HeaderRewrite) else True


def put_parts(out: dict[str, Any], source: object, parts: Iterable[Part]) -> dict[str, Any]:
    """``out`` with ``convert(value)`` under each part of ``source`` that says something, in order."""
    for key, convert in parts:
        value = getattr(source, key)
        if says_something(value):
            out[key] = convert(value)
    return out
