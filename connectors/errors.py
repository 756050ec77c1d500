"""One exception tree for everything a connector can raise.

Every error carries a short ``title`` for a toast or a modal heading and a message in words an
operator understands. The UI shows ``title`` and ``str(error)``; it never shows a traceback.

    GatewayError
    ├── ValidationError          the change or config is invalid (carries every Problem at once)
    │   └── ConfigSyntaxError    the file is not valid YAML (line and column)
    ├── ConnectionFailed         the gateway, cluster or metrics endpoint cannot be reached
    ├── GatewayNotRunning        a native gateway's Envoy is not (or no longer) running
    ├── ProcessStartFailed       Envoy could not start (binary missing, port taken, ...)
    ├── ChangeRejected           the gateway refused the change (Envoy's reason / API server's causes)
    ├── ChangeConflict           someone else changed the object since the plan was made
    ├── PermissionDenied         RBAC or read-only mode forbids the change
    ├── UnsafeState              a state file or folder another user could plant or redirect
    ├── NotFound                 route, backend or object does not exist
    ├── NothingToUndo            history has no applied change left to undo
    ├── VerificationFailed       the gateway accepted the change but does not show it in effect
    └── MetricsError             a metrics source failed (bad URL, auth, query error)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a field path such as ``routes[2].backends``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class GatewayError(Exception):
    """The root of the tree. A subclass names its title in its class line
    (``class NotFound(GatewayError, title="Not found")``); one without keeps its parent's."""

    title = "Gateway error"

    def __init_subclass__(cls, title: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if title:
            cls.title = title


class ValidationError(GatewayError, title="Invalid change"):
    def __init__(self, problems: Iterable[Problem], summary: str | None = None) -> None:
        self.problems = tuple(problems)
        text = summary or "; ".join(str(p) for p in self.problems) or "invalid input"
        super().__init__(text)


class ConfigSyntaxError(ValidationError, title="Invalid YAML"):
    def __init__(self, source: str, line: int, column: int, reason: str) -> None:
        self.source, self.line, self.column = source, line, column
        super().__init__([Problem("", reason)], f"{source}: line {line}, column {column}: {reason}")


class ConnectionFailed(GatewayError, title="Cannot reach the gateway"): ...


class GatewayNotRunning(GatewayError, title="Gateway is not running"): ...


class ProcessStartFailed(GatewayError, title="Envoy could not start"): ...


class ChangeRejected(GatewayError, title="Gateway rejected the change"): ...


class ChangeConflict(GatewayError, title="Changed by someone else"): ...


class PermissionDenied(GatewayError, title="Not allowed"): ...


class UnsafeState(GatewayError, title="Unsafe state files"):
    """A state file or folder another user could have planted or redirected (a symlink, another
    user's folder, one anyone may write in): the tool refuses to use it."""


class NotFound(GatewayError, title="Not found"): ...


class NothingToUndo(GatewayError, title="Nothing to undo"): ...


class VerificationFailed(GatewayError, title="Change not in effect"): ...


class MetricsError(GatewayError, title="Metrics unavailable"): ...
