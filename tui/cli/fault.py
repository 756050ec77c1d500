"""``set-fault ROUTE [--delay 200ms --delay-percent 10] [--abort 503 --abort-percent 5] [--remove]``:
inject a fixed delay and/or an abort on a share of one route's requests, through the change pipeline
(diff, apply, verify, history; ``--dry-run``, ``--export``, ``--for`` as for every change).

Only the parts named change: ``--abort 503`` on a route that delays keeps the delay;
``--delay off`` / ``--abort off`` drop one part, ``--remove`` the whole fault. A new part without a
percent applies to every request. Bad input is one line naming the field; nothing is applied.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .changing import run_edit
from .common import Command, UsageError
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector

OFF = "off"


def _percent(text: str, option: str) -> float:
    try:
        return float(text.strip().removesuffix("%"))
    except ValueError:
        raise UsageError(f"{option}: expected a percentage from 0 to 100, got {text!r}") from None


def _check(args: argparse.Namespace) -> None:
    from connectors.model import parse_duration

    parts = (args.delay, args.delay_percent, args.abort, args.abort_percent)
    if args.remove and any(p is not None for p in parts):
        raise UsageError("--remove takes no --delay, --abort or percentages")
    if not args.remove and all(p is None for p in parts):
        raise UsageError("give --delay DURATION, --abort STATUS (each with a --...-percent) or --remove")
    args.delay_value = args.abort_value = False  # False: keep that part as it is
    if args.delay is not None:
        try:
            args.delay_value = None if args.delay == OFF else parse_duration(args.delay)
        except ValueError as exc:
            raise UsageError(f"--delay: {exc} (or 'off')") from None
    if args.abort is not None:
        if args.abort != OFF and not args.abort.isdigit():
            raise UsageError(f"--abort: expected an HTTP status such as 503 (or 'off'), got {args.abort!r}")
        args.abort_value = None if args.abort == OFF else int(args.abort)
    args.delay_share = _percent(args.delay_percent, "--delay-percent") if args.delay_percent else None
    args.abort_share = _percent(args.abort_percent, "--abort-percent") if args.abort_percent else None


def _cmd_set_fault(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.errors import Problem, ValidationError
    from connectors.model.edits import set_fault
    from connectors.model.fault import edited_fault, fault_problems

    route = conn.get_route(args.route)
    current = route.fault
    path = f"{route.name}.fault"
    lacking = [
        Problem(f"{path}.{part}_percent", f"the route has no {part}: give --{part} with --{part}-percent")
        for part, share, value, there in (
            ("delay", args.delay_share, args.delay_value, current and current.delay is not None),
            ("abort", args.abort_share, args.abort_value, current and current.abort_status is not None),
        )
        if share is not None and value is False and not there
    ]
    if lacking:
        raise ValidationError(lacking)
    options: dict[str, Any] = {"delay_percent": args.delay_share, "abort_percent": args.abort_share}
    fault = None
    if not args.remove:
        fault = edited_fault(current, delay=args.delay_value, abort_status=args.abort_value, **options)
    if fault is not None and (problems := fault_problems(fault, path)):
        raise ValidationError(problems)
    return run_edit(args, conn, "fault", route, set_fault(route, fault))


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")
    p.add_argument("--delay", metavar="DURATION|off", help="hold requests this long first (e.g. 200ms)")
    p.add_argument("--delay-percent", metavar="P", help="share of requests delayed, 0-100 (default 100)")
    p.add_argument("--abort", metavar="STATUS|off", help="answer requests with this HTTP status (200-599)")
    p.add_argument("--abort-percent", metavar="P", help="share of requests aborted, 0-100 (default 100)")
    p.add_argument("--remove", action="store_true", help="stop injecting faults on the route")


def commands() -> list[Command]:
    return [
        Command(
            "set-fault",
            "inject a delay and/or an abort on a share of a route's requests "
            "(e.g. --abort 503 --abort-percent 5)",
            with_connector(_cmd_set_fault, _check),
            _arguments,
            changes=True,
        )
    ]
