"""Label and field selectors in the API server's query syntax."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .status import bad_request

JsonDict = dict[str, Any]
Predicate = Callable[[JsonDict], bool]

_SET_EXPR = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\((.*)\))?\s*$")
_EQ_EXPR = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Predicate:
    eq = _EQ_EXPR.match(term)
    if eq:
        key, op, value = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    match = _SET_EXPR.match(term)
    if not match:
        raise bad_request(f"unable to parse requirement: invalid label selector: {term!r}")
    negate, key, op, values = match.groups()
    if op:
        options = {v.strip() for v in values.split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in options
        return lambda labels: labels.get(key) not in options
    if negate:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def label_selector(selector: str | None) -> Predicate:
    """Predicate over objects for a `labelSelector` such as `app=reviews,version in (v1,v2),!canary`."""
    if not selector:
        return lambda obj: True
    terms = [_label_term(term) for term in _split_terms(selector)]

    def matches(obj: JsonDict) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return matches


def _field_value(obj: JsonDict, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def field_selector(selector: str | None, supported: frozenset[str]) -> Predicate:
    """Predicate for a `fieldSelector`; fields outside `supported` are a 400 like on the real server."""
    if not selector:
        return lambda obj: True
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(selector):
        match = _EQ_EXPR.match(term)
        if not match:
            raise bad_request(f"invalid field selector: {term!r}")
        field, op, value = match.groups()
        if field not in supported:
            raise bad_request(f"field label not supported: {field}")
        terms.append((field, op != "!=", value))
    return lambda obj: all((_field_value(obj, f) == v) == positive for f, positive, v in terms)
