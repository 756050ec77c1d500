"""Human-readable differences between two versions of the model or of native objects."""

from __future__ import annotations

import difflib
import json
from typing import Any

from .secrets import redact
from .serialize import route_to_dict
from .types import Route


def to_yaml(data: Any) -> str:
    """``data`` as YAML for people to read, secrets masked (``secrets.redact``): every diff, describe
    and YAML view goes through here, and may end up in a terminal log, a ticket or a screenshot."""
    import yaml  # imported on first use: it costs ~35 ms of the console's start-up

    return yaml.safe_dump(redact(data), sort_keys=False, default_flow_style=False, width=100)


def unified(before: str, after: str, label: str, context: int = 3) -> str:
    """A unified diff; an empty string when nothing changed."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
        n=context,
    )
    return "".join(lines)


def route_diff(before: Route | None, after: Route | None) -> str:
    either = after or before
    name = either.name if either is not None else "route"
    b = to_yaml(route_to_dict(before)) if before else ""
    a = to_yaml(route_to_dict(after)) if after else ""
    return unified(b, a, f"routes/{name}")


def json_diff(before: Any, after: Any, label: str) -> str:
    b = json.dumps(redact(before), indent=2, sort_keys=True) + "\n" if before is not None else ""
    a = json.dumps(redact(after), indent=2, sort_keys=True) + "\n" if after is not None else ""
    return unified(b, a, label)


def changed_fields(before: Route, after: Route) -> list[str]:
    """Top-level route fields that differ, e.g. ``["backends", "rate_limit"]``."""
    b, a = route_to_dict(before), route_to_dict(after)
    return [k for k in dict.fromkeys([*b, *a]) if b.get(k) != a.get(k)]
