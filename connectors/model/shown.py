"""What a route has that the tool reads from a cluster and shows, but never writes: policies that
apply through only some parent gateways, rate-limit rules beside the route's own limit, authorization
rules and per-backend filters. ``connectors.model.types`` re-exports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Authorization", "AuthzRule", "BackendFilter", "LimitRule", "PolicyScope"]


@dataclass(frozen=True)
class PolicyScope:
    """A policy object that applies to a route through only some of its parent gateways (a route
    attached to two Gateways, a policy on one of their listeners): requests through the others do not
    get ``policies``."""

    policies: tuple[str, ...]  # the route's policy names it provides (as ``policy_names``)
    source: str  # e.g. "SecurityPolicy store/public-cors"
    through: tuple[str, ...]  # e.g. "Gateway store/gw-a listener public"
    not_through: tuple[str, ...]

    def describe(self) -> str:
        verb = "apply" if len(self.policies) > 1 else "applies"
        return (
            f"{', '.join(self.policies)} from {self.source} {verb} only through {', '.join(self.through)}, "
            f"not through {', '.join(self.not_through)}"
        )

    def short(self) -> str:
        """``via gw-a``: the Gateways' names, for a routes table."""
        names = dict.fromkeys(t.split()[1].split("/")[-1] for t in self.through if len(t.split()) > 1)
        return "via " + ",".join(names)


@dataclass(frozen=True)
class LimitRule:
    """A rate-limit rule a route has besides its own local limit, shown read-only: one that counts
    only some clients (``clients`` says which), or a global limit kept by a rate-limit service
    (``requests`` None where the numbers live in that service's configuration)."""

    kind: Literal["local", "global"]
    requests: int | None = None
    interval: float | None = None
    clients: str = ""
    shadow: bool = False
    source: str = ""
    why_readonly: str = ""

    def describe(self) -> str:
        from .durations import format_duration

        if self.requests is None or self.interval is None:
            text = "limits kept by the rate-limit service"
        else:
            per = "s" if self.interval == 1 else format_duration(self.interval)
            text = f"{self.requests}/{per}"
        text = f"{self.kind} {text}"
        if self.clients:
            text += f" for {self.clients}"
        return text + (" (shadow)" if self.shadow else "")


@dataclass(frozen=True)
class AuthzRule:
    """One authorization rule: ``action`` (Allow/Deny) for requests whose ``principal`` matches."""

    name: str
    action: str
    principal: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authorization:
    """Who may use the route: rules in order, ``default_action`` for requests no rule matches."""

    default_action: str
    rules: tuple[AuthzRule, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class BackendFilter:
    """A filter that applies only to the requests sent to one backend (a per-backendRef filter)."""

    backend: str
    kind: str
    settings: str = ""
