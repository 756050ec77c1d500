"""``revert-expired [--list] [--dismiss CHANGE]``: carry out the time-boxed changes whose time is up
(each revert goes through the change pipeline and into the history), name every box that needs a
decision (exit 1 while one does), or list every time box with its countdown (and whether anything
will revert it by itself). ``--dismiss`` keeps a change whose revert needs a decision as it is.
The supervisor ``up`` starts beside Envoy does the reverting every second; run this from cron or a
systemd timer for gateways started otherwise."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.timeboxes import TimeBox

from .common import EXIT_GATEWAY, Command, out, table, warn
from .lifecycle import with_connector


def _note(box: TimeBox, nobody: str) -> str:
    if box.status == "pending" and nobody:
        return f"{box.reason}; {nobody}" if box.reason else nobody
    return box.reason or "-"


def _list(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.change import Change
    from connectors.timeboxes import reverts_at

    reverts = Change(conn).hooks.reverts
    boxes = reverts.boxes()
    if args.output == "json":
        out(json.dumps([asdict(b) for b in boxes], indent=2))
        return 0
    now, nobody = time.time(), reverts.unattended()
    rows = [[b.id, b.status, reverts_at(b, now), b.description, _note(b, nobody)] for b in boxes]
    out(table(["CHANGE", "STATUS", "REVERTS AT", "CHANGE MADE", "NOTE"], rows) if rows else "no time boxes")
    if nobody and any(b.status == "pending" for b in boxes):
        warn(nobody)
    return 0


def _dismiss(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.change import Change
    from connectors.change.pipeline import READONLY_REFUSAL
    from connectors.errors import PermissionDenied
    from connectors.timeboxes import dismiss

    if conn.readonly:
        raise PermissionDenied(READONLY_REFUSAL)
    box = dismiss(Change(conn).hooks.reverts, args.dismiss, conn.user)
    out(f"Dismissed {box.id} ({box.description}): the change stays as it is; it will not be reverted.")
    return 0


def _cmd_revert_expired(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.change import Change
    from connectors.change.timebox import describe_settled, revert_expired

    if args.list:
        return _list(args, conn)
    if args.dismiss is not None:
        return _dismiss(args, conn)
    acted = revert_expired(conn)
    # Boxes an earlier run (or the reverter) left needing a decision: said every time, until dismissed.
    done = {b.id for b in acted}
    waiting = [
        b for b in Change(conn).hooks.reverts.boxes() if b.status == "needs-decision" and b.id not in done
    ]
    decide = [b for b in [*acted, *waiting] if b.status == "needs-decision"]
    if args.output == "json":
        out(json.dumps([asdict(b) for b in [*acted, *waiting]], indent=2))
    else:
        for b in [*acted, *waiting]:
            out(describe_settled(b))
        if not acted and not waiting:
            out("Nothing due.")
        for b in decide:
            out(
                f"  to keep {b.id} as it is: gatewayctl-tui revert-expired --dismiss {b.id} "
                "(or change it back yourself, then dismiss it)"
            )
    return EXIT_GATEWAY if decide else 0


def _arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list every time box and when it reverts")
    what.add_argument(
        "--dismiss",
        metavar="CHANGE",
        help="keep a change whose revert needs a decision as it is (its change id, or a prefix)",
    )
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")


def commands() -> list[Command]:
    return [
        Command(
            "revert-expired",
            "revert the time-boxed changes whose time is up (--list: show them all; exit 1 while "
            "one needs a decision)",
            with_connector(_cmd_revert_expired, reverts_due=False),
            _arguments,
        )
    ]
