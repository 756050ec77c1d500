"""``revert-expired [--list]``: carry out the time-boxed changes whose time is up (each revert goes
through the change pipeline and into the history), or list every time box with its countdown. The
reverter ``up`` starts beside Envoy does the same every second; run this from cron or a systemd
timer for gateways started otherwise."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

from connectors.base import Connector

from .common import EXIT_GATEWAY, Command, out, table
from .lifecycle import with_connector


def _when(due: float, now: float) -> str:
    from connectors.model import format_duration

    left = due - now
    at = time.strftime("%H:%M:%S", time.localtime(due))
    return f"{at} (in {format_duration(round(left))})" if left > 0 else f"{at} (due)"


def _cmd_revert_expired(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.change import Change
    from connectors.change.timebox import describe_settled, revert_expired

    reverts = Change(conn).hooks.reverts
    if args.list:
        boxes = reverts.boxes()
        if args.output == "json":
            out(json.dumps([asdict(b) for b in boxes], indent=2))
            return 0
        now = time.time()
        rows = [[b.id, b.status, _when(b.due, now), b.description, b.reason or "-"] for b in boxes]
        out(
            table(["CHANGE", "STATUS", "REVERTS AT", "CHANGE MADE", "NOTE"], rows)
            if rows
            else "no time boxes"
        )
        return 0
    acted = revert_expired(conn)
    if args.output == "json":
        out(json.dumps([asdict(b) for b in acted], indent=2))
    for b in acted if args.output != "json" else ():
        out(describe_settled(b))
    if not acted and args.output != "json":
        out("Nothing due.")
    return EXIT_GATEWAY if any(b.status == "needs-decision" for b in acted) else 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list", action="store_true", help="list every time box and when it reverts")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")


def commands() -> list[Command]:
    return [
        Command(
            "revert-expired",
            "revert the time-boxed changes whose time is up (--list: show them all)",
            with_connector(_cmd_revert_expired, reverts_due=False),
            _arguments,
        )
    ]
