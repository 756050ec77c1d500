"""A small typed reader over plain YAML/JSON data that collects every problem with its field path."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import Problem
from .durations import parse_duration

T = TypeVar("T")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,39}$")
_MISSING = object()


class Reader:
    """Reads fields from ``data`` at ``path``; wrong types become Problems instead of exceptions."""

    def __init__(self, data: Any, path: str, problems: list[Problem]) -> None:
        self.data = data
        self.path = path
        self.problems = problems

    def at(self, key: builtins.str | int) -> builtins.str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str | int | None, message: str) -> None:
        self.problems.append(Problem(self.at(key) if key is not None else self.path, message))

    def is_mapping(self) -> builtins.bool:
        if isinstance(self.data, Mapping):
            return True
        self.problems.append(Problem(self.path, f"expected a mapping, got {_kind(self.data)}"))
        return False

    def unknown_keys(self, allowed: set[builtins.str]) -> None:
        if isinstance(self.data, Mapping):
            for key in self.data:
                if key not in allowed:
                    hint = ", ".join(sorted(allowed))
                    self.problem(_shown_key(key), f"unknown field (expected one of: {hint})")

    def raw(self, key: str) -> Any:
        return self.data.get(key, _MISSING) if isinstance(self.data, Mapping) else _MISSING

    def has(self, key: builtins.str) -> builtins.bool:
        return self.raw(key) is not _MISSING and self.raw(key) is not None

    def child(self, key: str | int) -> Reader:
        value = self.data.get(key) if isinstance(self.data, Mapping) else None
        if isinstance(self.data, list) and isinstance(key, int):
            value = self.data[key]
        return Reader(value, self.at(key), self.problems)

    def _get(self, key: str, default: Any, required: bool, check: Callable[[Any], T], what: str) -> Any:
        value = self.raw(key)
        if value is _MISSING or value is None:
            if required:
                self.problem(key, "is required")
            return default
        try:
            return check(value)
        except (TypeError, ValueError) as exc:
            self.problem(key, str(exc) or f"expected {what}, got {_kind(value)}")
            return default

    def str(self, key: str, default: Any = None, required: bool = False) -> Any:
        return self._get(key, default, required, _check_str, "a string")

    def int(self, key: builtins.str, default: Any = None, required: builtins.bool = False) -> Any:
        return self._get(key, default, required, _check_int, "a whole number")

    def float(self, key: builtins.str, default: Any = None, required: builtins.bool = False) -> Any:
        return self._get(key, default, required, _check_float, "a number")

    def bool(self, key: builtins.str, default: Any = None, required: builtins.bool = False) -> Any:
        return self._get(key, default, required, _check_bool, "true or false")

    def duration(self, key: builtins.str, default: Any = None, required: builtins.bool = False) -> Any:
        return self._get(key, default, required, parse_duration, "a duration")

    def str_list(self, key: builtins.str) -> tuple[builtins.str, ...]:
        value = self.raw(key)
        if value is _MISSING or value is None:
            return ()
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if not isinstance(value, list):
            self.problem(key, f"expected a list of strings, got {_kind(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                out.append(str(item))
            else:
                self.problems.append(Problem(f"{self.at(key)}[{i}]", f"expected a string, got {_kind(item)}"))
        return tuple(out)

    def items(self, key: builtins.str) -> list[Reader]:
        """Readers for each element of a list field (an absent field is an empty list)."""
        value = self.raw(key)
        if value is _MISSING or value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, f"expected a list, got {_kind(value)}")
            return []
        base = self.at(key)
        return [Reader(item, f"{base}[{i}]", self.problems) for i, item in enumerate(value)]

    def pairs(self, key: builtins.str) -> tuple[tuple[builtins.str, builtins.str], ...]:
        """A mapping of header name to value, as ordered pairs."""
        value = self.raw(key)
        if value is _MISSING or value is None:
            return ()
        if not isinstance(value, Mapping):
            self.problem(key, f"expected a mapping of header: value, got {_kind(value)}")
            return ()
        return tuple((str(k), str(v)) for k, v in value.items())


def _shown_key(key: Any) -> builtins.str:
    """A key as a field name: a typo like ``rate_limt`` is named, anything else (a line of a file
    that is not a gateway config at all, say /etc/shadow) is not echoed."""
    text = str(key)
    return text if _IDENTIFIER.match(text) else "<unknown key>"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _check_str(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"expected a string, got {_kind(value)}")
    return str(value)


def _check_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError(f"expected a whole number, got {_kind(value)}")
    return value


def _check_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_kind(value)}")
    return float(value)


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {_kind(value)}")
    return value
