"""What the operator may change on a gateway. Its own module: the console needs it before its first
frame, long before the rest of the connector interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EditKind = Literal["weights", "rate_limit", "cors", "deny", "fault"]


@dataclass(frozen=True)
class Capabilities:
    """What the operator may edit here; a missing entry in ``editable`` has its reason in ``reasons``."""

    # Deny rules only where the connector renders them (it says so in its own capabilities).
    editable: frozenset[EditKind] = frozenset({"weights", "rate_limit", "cors"})
    reasons: dict[str, str] = field(
        default_factory=lambda: {
            "deny": "this gateway's connector cannot deny clients yet",
            "fault": "this gateway's connector cannot inject faults yet",
        }
    )
    can_export: bool = False

    def can(self, kind: EditKind) -> bool:
        return kind in self.editable

    def why_not(self, kind: EditKind) -> str:
        return self.reasons.get(kind, "" if self.can(kind) else f"{kind} cannot be edited on this gateway")


READONLY = Capabilities(
    editable=frozenset(),
    reasons={
        k: "read-only mode (started with --readonly)"
        for k in ("weights", "rate_limit", "cors", "deny", "fault")
    },
)
