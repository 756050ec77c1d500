"""``shadow``: the shadowed rate limits and what each would refuse if enforced — the requests it
saw and would have refused (the gateway's own counters) and the would-be limited clients. Turn one
into an enforced limit with ``set-rate-limit ROUTE --enforce`` (the usual diff first)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .common import Command, out, table
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.shadow import ShadowLimit


def _cmd_shadow(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.shadow import shadow_limits

    rows = shadow_limits(conn)
    if args.output == "json":
        out(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    if not rows:
        out("No shadowed rate limits (set one: gatewayctl-tui set-rate-limit ROUTE --requests N --shadow).")
        return 0
    lines = [
        [
            r.route,
            r.limit.describe(),
            str(r.requests),
            str(r.would_refuse),
            f"{r.pct:.1f}%",
            _clients(r),
        ]
        for r in rows
    ]
    out(table(["ROUTE", "LIMIT", "REQUESTS", "WOULD REFUSE", "SHARE", "CLIENTS"], lines))
    for r in rows:
        who = ", ".join(f"{c} ({n})" for c, n in r.clients[:5])
        out(f"  {r.route}: {r.describe()}" + (f": {who}" if who else ""))
        if r.note:
            out(f"  {r.route}: note: {r.note}")
        if r.enforced:
            out(f"  {r.route}: warning: {r.enforced} requests were refused although the limit is shadowed")
    return 0


def _clients(r: ShadowLimit) -> str:
    """The CLIENTS cell: ``?`` when none can be named, ``2 so far`` while the log is behind."""
    if not r.origin and r.would_refuse:
        return "?"  # never 0 for unknown
    return f"{len(r.clients)} so far" if r.behind and r.would_refuse else str(len(r.clients))


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")


def commands() -> list[Command]:
    return [
        Command(
            "shadow",
            "shadowed rate limits: what each would refuse if enforced, and which clients",
            with_connector(_cmd_shadow),
            _arguments,
        )
    ]
