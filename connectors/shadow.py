"""Shadowed rate limits: what each would refuse if it were enforced, from the gateway's own counters
(native: the route's shadow limiter's ``enabled`` and ``rate_limited``, see
``connectors.native.render_shadow``) and the would-be limited clients from the access log.

``shadow_limits(connector)`` blocks (admin and file reads); worst first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .model import RateLimit

CLIENT_WINDOW_S = 300.0
"""How far back the access log is read for the would-be limited clients."""


@dataclass(frozen=True)
class ShadowLimit:
    """One shadowed limit: the requests it saw and how many it would have refused (both Envoy's
    counters, since the limit was shadowed or the proxy started), and who those were recently."""

    route: str
    limit: RateLimit
    requests: int
    would_refuse: int
    enforced: int = 0  # requests it did refuse: 0 for a shadow limit, anything else is a fault
    clients: tuple[tuple[str, int], ...] = ()  # (client, would-be refusals) in the last window
    note: str = ""  # why the counters or the clients may be missing (e.g. stats the proxies omit)
    origin: str = ""  # where the clients were read ("the access log"); "" when they are not known
    behind: bool = False  # the log has not caught up with the counters yet: the clients are incomplete

    @property
    def pct(self) -> float:
        return 100.0 * self.would_refuse / self.requests if self.requests else 0.0

    def describe(self) -> str:
        """``would refuse 12% of requests (36 of 300), 3 clients`` (``clients: 0 so far, the access
        log is behind`` while the log has not caught up with the counters)."""
        n = len(self.clients)
        who = f", {n} client{'s' if n != 1 else ''}" if self.would_refuse else ""
        if self.would_refuse and not self.clients and not self.origin:
            who = ", clients unknown"  # none could be named: never "0 clients"
        elif self.would_refuse and self.behind:  # counted, not logged yet: never a confident count
            who = f", clients: {n} so far, the access log is behind"
        return f"would refuse {self.pct:.0f}% of requests ({self.would_refuse} of {self.requests}){who}"

    def to_json(self) -> dict[str, object]:
        return {
            "route": self.route,
            "limit": self.limit.describe(),
            "requests": self.requests,
            "would_refuse": self.would_refuse,
            "would_refuse_pct": round(self.pct, 2),
            "enforced": self.enforced,
            "clients": [{"client": c, "would_refuse": n} for c, n in self.clients],
            "clients_from": self.origin or None,
            # False while the access log is behind the counters; None when clients cannot be named.
            "clients_complete": (not self.behind) if self.origin else None,
            "note": self.note,
        }


class HasShadowLimits(Protocol):
    """What ``shadow_limits`` needs of a connector (``Connector.shadow_limits``)."""

    def shadow_limits(self) -> list[ShadowLimit]: ...


def shadow_limits(connector: HasShadowLimits) -> list[ShadowLimit]:
    """Every shadowed limit of the gateway, the most refused share first."""
    rows = connector.shadow_limits()
    return sorted(rows, key=lambda r: (-r.pct, -r.would_refuse, r.route))
