"""``health [ROUTE]``: each route backend's health, worst first — endpoints healthy or ejected,
outlier ejections (now / since the proxy started), circuit-breaker overflows, and active
connections and requests against the thresholds. ``-o json`` for scripts."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from connectors.base import Connector

from .common import Command, out, table
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.health import BackendHealth


def _active(b: BackendHealth) -> str:
    parts = []
    for limit, gauge, label in (
        ("max_connections", "connections", "cx"),
        ("max_requests", "requests", "rq"),
        ("max_pending_requests", "pending_requests", "pending"),
    ):
        cap = b.thresholds.get(limit)
        parts.append(f"{label} {b.active.get(gauge, 0)}/{cap if cap is not None else '-'}")
    return " ".join(parts)


def _row(b: BackendHealth) -> list[str]:
    from connectors.health import OVERFLOWS

    healthy = sum(e.state == "healthy" for e in b.endpoints)
    ov = b.overflows
    return [
        b.route,
        b.backend,
        b.state.upper() if b.state != "healthy" else b.state,
        f"{healthy}/{len(b.endpoints)}",
        f"{b.ejections_active}/{b.ejections_total}",
        "/".join(str(ov.get(k, 0)) for k in OVERFLOWS),
        _active(b),
    ]


def _cmd_health(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.health import backend_health

    rows = backend_health(conn, args.route)
    if args.output == "json":
        out(json.dumps([b.to_json() for b in rows], indent=2))
        return 0
    if not rows:
        out("no backends")
        return 0
    headers = [
        "ROUTE",
        "BACKEND",
        "STATE",
        "ENDPOINTS OK",
        "EJECTED NOW/SINCE START",
        "OVERFLOWS CX/PENDING/RQ/RETRY",
    ]
    out(table([*headers, "ACTIVE/MAX"], [_row(b) for b in rows]))
    for b in rows:
        notes = [f"{e.address} {e.state} ({', '.join(e.flags)})" for e in b.endpoints if e.state != "healthy"]
        notes += [f"near limit: {x}" for x in b.near_limits()]
        notes += [f"circuit breaker open: {x}" for x in b.open_breakers]
        for note in notes:
            out(f"  {b.route}/{b.backend}: {note}")
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE", nargs="?", help="only this route's backends")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")


def commands() -> list[Command]:
    return [
        Command(
            "health",
            "backend health: endpoints, outlier ejections, circuit-breaker overflows, active vs limits",
            with_connector(_cmd_health),
            _arguments,
        )
    ]
