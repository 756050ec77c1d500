"""Helpers for the console's tests and benchmarks (no tests here).

``StaticConnector`` implements the connector interface over an in-memory model. It exists for what a
real gateway cannot give: fixed, port-free data for snapshot tests and 10,000 routes for the
benchmarks. Operator stories run against a real native gateway (``tests/native_support.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from connectors.base import (
    Capabilities,
    Connector,
    GatewayInfo,
    NativeChange,
    Plan,
    RouteChange,
    Verification,
)
from connectors.errors import ConnectionFailed, ValidationError
from connectors.history import HistoryEntry, HistoryStore
from connectors.model import (
    Cors,
    Gateway,
    Jwt,
    JwtProvider,
    RateLimit,
    Retries,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
    route_problems,
    route_to_dict,
)
from connectors.model.diff import json_diff
from tui.textual_compat import screen_text

if TYPE_CHECKING:
    from textual.app import App

    from connectors.metrics.types import RouteStats


def sample_routes() -> tuple[Route, ...]:
    """A dozen routes with every kind of policy (fixed data: no ports, no times)."""
    jwt = Jwt(
        (
            JwtProvider(
                "corp", "https://login.example.com", ("shop",), jwks_uri="https://login.example.com/jwks"
            ),
        )
    )
    return (
        Route("shop", (WeightedBackend("v1", 90), WeightedBackend("v2", 10)), hosts=("shop.example.com",)),
        Route(
            "api",
            (WeightedBackend("v1", 50), WeightedBackend("v2", 50)),
            hosts=("api.example.com",),
            matches=(RouteMatch(StringMatch("prefix", "/api/")),),
            rate_limit=RateLimit(100, 1.0, 200),
            cors=Cors((StringMatch("exact", "https://app.example.com"),), ("GET", "POST"), ("content-type",)),
        ),
        Route(
            "api-limited",
            (WeightedBackend("v1", 100),),
            hosts=("api.example.com",),
            matches=(RouteMatch(StringMatch("prefix", "/limited/")),),
            rate_limit=RateLimit(5, 60.0),
        ),
        Route(
            "checkout",
            (WeightedBackend("v1", 100), WeightedBackend("v2", 0)),
            hosts=("shop.example.com",),
            matches=(RouteMatch(StringMatch("prefix", "/checkout"), methods=("POST",)),),
            jwt=jwt,
            timeout=5.0,
            retries=Retries(2, 1.0),
        ),
        Route(
            "search",
            (WeightedBackend("v2", 100),),
            hosts=("shop.example.com",),
            matches=(RouteMatch(StringMatch("regex", "/search/[a-z]+")),),
        ),
        *(Route(f"svc-{i}", (WeightedBackend("v1", 100),), hosts=(f"svc{i}.internal",)) for i in range(1, 8)),
    )


def many_routes(count: int) -> tuple[Route, ...]:
    """``count`` routes for the benchmarks, every tenth with a canary and a rate limit."""
    out = []
    for i in range(count):
        canary = i % 10 == 0
        out.append(
            Route(
                f"route-{i:05d}",
                (WeightedBackend("v1", 90), WeightedBackend("v2", 10))
                if canary
                else (WeightedBackend("v1", 100),),
                hosts=(f"host{i % 500}.example.com",),
                matches=(RouteMatch(StringMatch("prefix", f"/r{i}/")),),
                rate_limit=RateLimit(100, 1.0) if canary else None,
            )
        )
    return tuple(out)


class StaticConnector(Connector):
    """The connector interface over an in-memory Gateway: plans diff the model, apply replaces it."""

    kind = "static"

    def __init__(
        self, routes: Sequence[Route], *, name: str = "fixture", readonly: bool = False, delay: float = 0.0
    ) -> None:
        super().__init__(readonly=readonly, history=HistoryStore(None), user="operator")
        self.gateway = Gateway(name, tuple(routes))
        self.version = 1
        self.delay = delay  # seconds each read takes, to look like a remote gateway
        self.down = False
        self.snapshot_routes: dict[str, RouteStats] | None = None
        self.closed = False

    def _io(self) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            raise ConnectionFailed("the fixture gateway is down")

    def info(self) -> GatewayInfo:
        self._io()
        return GatewayInfo("static", self.gateway.name, "memory")

    def list_routes(self) -> list[Route]:
        self._io()
        return list(self.gateway.routes)

    def native_objects(self, route: str) -> str:
        r = self.gateway.route(route)
        hosts = ", ".join(r.hosts)
        return f"# the route as the fixture stores it\nroute:\n  name: {r.name}\n  hosts: [{hosts}]\n"

    def _capabilities(self) -> Capabilities:
        return Capabilities()

    def metrics(self) -> object | None:
        if self.snapshot_routes is None:
            return None
        from connectors.metrics.types import Snapshot  # the metrics package is slow to import

        connector = self

        class _Source:
            def snapshot(self) -> Snapshot:
                return Snapshot(time.time(), dict(connector.snapshot_routes or {}), "fixture")

        return _Source()

    def plan(self, routes: Sequence[Route]) -> Plan:
        self._io()
        problems = [p for i, r in enumerate(routes) for p in route_problems(r, f"routes[{i}]")]
        if problems:
            raise ValidationError(problems)
        changes = tuple(RouteChange(self.gateway.route(r.name), r) for r in routes)
        native = tuple(
            NativeChange(
                f"route {c.after.name}",
                json_diff(route_to_dict(c.before), route_to_dict(c.after), c.after.name),
            )
            for c in changes
        )
        return Plan(
            id=self.new_plan_id(),
            gateway=self.gateway.name,
            changes=changes,
            native_changes=native,
            base_version=str(self.version),
            description=self.describe(changes),
        )

    def _apply(self, plan: Plan) -> str:
        self._io()
        gateway = self.gateway
        for change in plan.changes:
            gateway = gateway.with_route(change.after)
        self.gateway = gateway
        self.version += 1
        return str(self.version)

    def verify(self, plan: Plan) -> Verification:
        return Verification(True, ("the fixture serves the new routes",))

    def history(self) -> list[HistoryEntry]:
        return super().history()

    def close(self) -> None:
        self.closed = True


def visible_text(app: App[Any]) -> str:
    """What the terminal shows, as text: each row that shows something, without trailing blanks."""
    rows = (row.rstrip() for row in screen_text(app).splitlines())
    return "\n".join(row for row in rows if row)


def with_route(connector: StaticConnector, route: Route) -> None:
    """Change a route behind the console's back (someone else's edit)."""
    connector.gateway = connector.gateway.with_route(route)


__all__ = ["StaticConnector", "many_routes", "replace", "sample_routes", "visible_text", "with_route"]
