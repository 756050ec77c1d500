"""What a change is made of, as every connector and face sees it: a gateway's identity, a plan (the
routes as they are and as it leaves them, the native objects it writes), its verification and the
result of applying it, and the one-line description history shows. Plain data; ``connectors.base``
re-exports every name, so callers may import them from either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .describe import describe_change

if TYPE_CHECKING:
    from .history import HistoryEntry
    from .model import Route

__all__ = [
    "ApplyResult",
    "GatewayInfo",
    "NativeChange",
    "Plan",
    "RouteChange",
    "Verification",
    "describe_change",
]


@dataclass(frozen=True)
class GatewayInfo:
    """Who and where a gateway is, as the status line and history name it."""

    kind: str  # "native", "istio", "envoygateway", "gatewayapi"
    name: str
    endpoint: str  # a native gateway's (first) listener URL, or "context/namespace"
    details: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class RouteChange:
    """One route as it is and as the plan leaves it."""

    before: Route
    after: Route


@dataclass(frozen=True)
class NativeChange:
    """One native object the plan writes: an Envoy xDS file, a VirtualService, a patch..."""

    label: str
    diff: str


@dataclass(frozen=True)
class Plan:
    """A validated change, ready to show as a diff and to apply; ``payload`` is the connector's own."""

    id: str
    gateway: str
    changes: tuple[RouteChange, ...]
    native_changes: tuple[NativeChange, ...]
    base_version: str
    description: str
    warnings: tuple[str, ...] = ()
    undoes: str | None = None
    # Connector-private data needed to apply (rendered files, patches with resourceVersions).
    payload: Any = None
    # Routes this plan would deploy that are not the caller's edit (drift: the gateway's source
    # differs from what it serves); the pipeline applies such a plan only when ``adopt`` is set.
    drift: tuple[str, ...] = ()
    adopt: bool = False

    @property
    def model_diff(self) -> str:
        from .model.diff import route_diff

        return "".join(route_diff(c.before, c.after) for c in self.changes)

    @property
    def native_diff(self) -> str:
        return "".join(c.diff for c in self.native_changes)

    @property
    def is_empty(self) -> bool:
        return all(c.before == c.after for c in self.changes)

    @property
    def routes(self) -> tuple[str, ...]:
        return tuple(c.after.name for c in self.changes)


@dataclass(frozen=True)
class Verification:
    """Whether the gateway serves what a plan wrote, with what was checked.

    ``ok`` is False when something seen contradicts the change (a proxy holding something else, a
    controller refusing it). ``confirmed`` says how far it was seen to hold: ``proxies`` (the gateway
    proxies hold it), ``controller`` (its controller reported on the new objects; no proxy was
    checked), or ``written`` (the API accepted the write; nothing confirmed it, ``unconfirmed`` says
    why). An ok ``written`` is not a failure: the CLI exits 0 and says "not confirmed"."""

    ok: bool
    details: tuple[str, ...] = ()
    confirmed: Literal["proxies", "controller", "written"] = "proxies"
    unconfirmed: str = ""  # for ``written``/``controller``: what could not confirm it, and why

    def headline(self) -> str:
        """One line: ``verified: the gateway proxies hold it``, ``written; not confirmed ...``."""
        if not self.ok:
            return "NOT verified"
        if self.confirmed == "proxies":
            return "verified: the gateway proxies hold it"
        why = f" ({self.unconfirmed})" if self.unconfirmed else ""
        if self.confirmed == "controller":
            return f"verified by the controller; the gateway proxies were not checked{why}"
        return f"written; not confirmed by a controller or proxy{why}"


@dataclass(frozen=True)
class ApplyResult:
    """An applied plan: its verification, its history entry and how long it took."""

    plan: Plan
    verification: Verification
    entry: HistoryEntry
    seconds: float
