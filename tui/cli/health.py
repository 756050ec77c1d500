"""``health [ROUTE]``: each route backend's health, worst first — whether anything checks it (else
"not checked"), its requests failed since the proxy started, endpoints healthy or ejected, outlier
ejections (now / since the proxy started), circuit-breaker overflows, and active connections and
requests against the thresholds. ``-o json`` for scripts (the definitions: ``connectors.health``)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .common import Command, out, table
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector


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
        "FAILED/REQUESTS SINCE START",
        "EJECTED NOW/SINCE START",
        "OVERFLOWS CX/PENDING/RQ/RETRY",
    ]
    out(table([*headers, "ACTIVE/MAX"], [list(b.cells()) for b in rows]))
    for b in rows:
        notes = b.notes() + [e.describe() for e in b.endpoints if e.state not in ("healthy", "unchecked")]
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
