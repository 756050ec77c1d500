"""How routes, policies and live figures read in tables: plain strings, computed once per change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.binding import Binding

from .widgets.line_table import Column, LiveCells

if TYPE_CHECKING:
    # Types only: importing the metrics package loads its HTTP clients, too slow for start-up.
    from connectors.metrics.types import RouteStats, Snapshot
    from connectors.model import Route

NO_VALUE = "—"
# A route is degraded at or above this 5xx share; limited while its rate limiter answers 429s.
DEGRADED_ERROR_PCT = 1.0

ROUTE_COLUMNS = (
    Column("NAME", "n", ratio=3, min_width=10, natural=True),
    Column("HOSTS", "h", ratio=3, min_width=8),
    Column("MATCH", "m", ratio=2, min_width=6),
    Column("BACKENDS", "b", ratio=3, min_width=10),
    # Wide enough at 160 columns for "ratelimit(shadow) deny(2)": what refuses traffic, and how.
    Column("POLICIES", "p", ratio=4, min_width=8),
    Column("REQ/S", "r", width=8, align="right", live=True),
    Column("5XX%", "e", width=6, align="right", live=True),
    Column("429/S", "l", width=6, align="right", live=True),
    Column("P99", "t", width=7, align="right", live=True),
)


def backends_text(route: Route) -> str:
    if route.weight_mode == "percent":
        return "  ".join(f"{b.name} {b.weight}%" for b in route.backends)
    share = route.weight_share()
    return "  ".join(f"{b.name} {b.weight} ({share[b.name]:.0f}%)" for b in route.backends)


def route_cells(route: Route) -> tuple[str, ...]:
    return (
        route.name,
        ", ".join(route.hosts),
        "; ".join(str(m) for m in route.matches),
        backends_text(route),
        " ".join(route.policy_names()) or NO_VALUE,
    )


def route_rows(routes: Sequence[Route]) -> tuple[list[str], list[tuple[str, ...]]]:
    return [r.name for r in routes], [route_cells(r) for r in routes]


def status_of(stats: RouteStats | None) -> str:
    if stats is None:
        return ""
    if stats.error_pct >= DEGRADED_ERROR_PCT:
        return "degraded"
    if stats.limited_rps > 0:
        return "limited"
    if stats.rps <= 0:
        return "idle"
    return "healthy"


def format_rate(value: float) -> str:
    return f"{value:.1f}" if value < 1000 else f"{value / 1000:.1f}k"


def format_ms(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value:.0f}ms" if value < 10_000 else f"{value / 1000:.0f}s"


def live_cells(stats: RouteStats | None) -> LiveCells:
    """REQ/S, 5XX%, 429/S, P99 for a route, with sort values and a status."""
    if stats is None:
        return (NO_VALUE,) * 4, (-1.0,) * 4, ""
    return (
        (
            format_rate(stats.rps),
            f"{stats.error_pct:.1f}",
            format_rate(stats.limited_rps),
            format_ms(stats.p99_ms),
        ),
        (stats.rps, stats.error_pct, stats.limited_rps, stats.p99_ms if stats.p99_ms is not None else -1.0),
        status_of(stats),
    )


class LiveFigures:
    """A live lookup for the routes table over one metrics snapshot (None: no metrics yet)."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        self._routes = snapshot.routes if snapshot is not None else {}

    def __call__(self, key: str) -> LiveCells:
        return live_cells(self._routes.get(key))


# -- policies view -------------------------------------------------------------------------------

POLICY_COLUMNS = (
    Column("ROUTE", "n", ratio=2, min_width=10, natural=True),
    Column("POLICY", "p", ratio=1, min_width=9),
    Column("SETTINGS", "s", ratio=6, min_width=20),
)


def policy_settings(route: Route) -> list[tuple[str, str]]:
    from connectors.model.durations import format_duration  # the model loads after the first frame
    from connectors.model.observed import describe_retries, observed_settings

    """(policy, one-line settings) for every policy attached to ``route``."""
    out: list[tuple[str, str]] = []
    if route.rate_limit is not None:
        out.append(("ratelimit", route.rate_limit.describe()))
    if route.deny is not None:  # as the routes table counts them: deny(2)
        n = len(route.deny.clients)
        out.append(
            ("deny", f"{n} client{'s' if n != 1 else ''}: {route.deny.describe()} ({route.deny.status})")
        )
    if route.cors is not None:
        c = route.cors
        parts = ["origins " + ", ".join(str(o) for o in c.allow_origins)]
        if c.allow_methods:
            parts.append("methods " + ",".join(c.allow_methods))
        if c.allow_headers:
            parts.append("headers " + ",".join(c.allow_headers))
        if c.max_age is not None:
            parts.append("max-age " + format_duration(c.max_age))
        if c.allow_credentials:
            parts.append("credentials")
        out.append(("cors", "; ".join(parts)))
    if route.jwt is not None:
        issuers = ", ".join(p.issuer for p in route.jwt.providers)
        out.append(("jwt", ("required" if route.jwt.required else "optional") + f"; issuers {issuers}"))
    if route.timeout is not None:
        out.append(("timeout", format_duration(route.timeout)))
    if route.retries is not None:
        out.append(("retries", describe_retries(route.retries)))
    if route.circuit_breaker is not None:
        cb = route.circuit_breaker
        limits = [
            f"{k.removeprefix('max_').replace('_', ' ')} {getattr(cb, k)}"
            for k in ("max_connections", "max_pending_requests", "max_requests", "max_retries")
            if getattr(cb, k) is not None
        ]
        if cb.outlier_detection is not None:
            limits.append(f"eject after {cb.outlier_detection.consecutive_5xx} 5xx")
        out.append(("circuit", ", ".join(limits) or "defaults"))
    if route.mirror is not None:
        out.append(("mirror", f"{route.mirror.percent:g}% to {route.mirror.backend}"))
    if route.headers:
        ops = []
        for side in ("request", "response"):
            o = getattr(route.headers, side)
            names = [n for n, _ in o.set] + [n for n, _ in o.add] + [f"-{n}" for n in o.remove]
            if names:
                ops.append(f"{side}: {' '.join(names)}")
        out.append(("headers", "; ".join(ops)))
    return out + observed_settings(route)


def policy_rows(routes: Sequence[Route]) -> tuple[list[str], list[tuple[str, ...]]]:
    keys: list[str] = []
    rows: list[tuple[str, ...]] = []
    for route in routes:
        for policy, settings in policy_settings(route):
            keys.append(f"{route.name}\t{policy}")
            rows.append((route.name, policy, settings))
    return keys, rows


def sort_bindings(view: str, columns: Sequence[Column]) -> list[Binding]:
    """shift+letter sorts by a column (k9s); ids ``<view>.sort_<letter>`` so keys can be remapped."""
    return [
        Binding(
            c.sort_letter.upper(),
            f"sort('{c.sort_letter}')",
            f"Sort by {c.title.lower()}",
            show=False,
            id=f"{view}.sort_{c.sort_letter}",
        )
        for c in columns
        if c.sort_letter
    ]
