"""``deny ROUTE --client x-user-id=crawler-7 [--client ip=203.0.113.0/24] [--for 1h] [--status 403]``:
refuse those clients on that route only, through the change pipeline (diff, apply, verify, history);
with ``--for`` the deny lifts itself when the time is up. ``--lift CLIENT`` takes clients off the
list again, ``--remove`` drops the route's deny rules. Bad input is one line; nothing is applied.

An address that sent (nearly) all of the route's recent requests — a load balancer, a proxy,
localhost — or that several header clients share is warned about in the plan and denied only with
``--force`` (``connectors.client_share``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .changing import run_edit
from .common import Command, UsageError
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.model import Deny, Route


def _check(args: argparse.Namespace) -> None:
    from connectors.errors import ValidationError
    from connectors.model.deny import parse_client, status_problem

    if args.remove and (args.client or args.lift):
        raise UsageError("--remove takes no --client or --lift")
    if args.client and args.lift:  # deny and lift in one go: whichever won, one would be lost
        raise UsageError("--client and --lift cannot be combined (deny, then lift, in two commands)")
    if not (args.client or args.lift or args.remove):
        raise UsageError("name the client to deny: --client HEADER=VALUE or --client ip=CIDR")
    if (why := status_problem(args.status)) is not None:  # before anything is read or planned
        raise UsageError(f"--status: {why}")
    try:
        args.clients = [parse_client(c) for c in args.client or ()]
        args.lifted = [parse_client(c) for c in args.lift or ()]
    except ValidationError as exc:
        raise UsageError("--client: " + "; ".join(p.message for p in exc.problems)) from None


def _cmd_deny(args: argparse.Namespace, conn: Connector) -> int:
    from dataclasses import replace

    from connectors.errors import NotFound, Problem, ValidationError
    from connectors.model import Deny
    from connectors.model.deny import deny_problems

    route = conn.get_route(args.route)
    current = route.deny.clients if route.deny else ()
    deny: Deny | None = None
    unknown = [c for c in args.lifted if c not in current]
    if unknown:  # a typo must not read as "No change": nothing was lifted
        denied = ", ".join(str(c) for c in current) or "nobody"
        raise NotFound(f"{route.name} denies no client {', '.join(map(str, unknown))} (it denies: {denied})")
    if not args.remove:
        clients = tuple(dict.fromkeys([*current, *args.clients]))
        clients = tuple(c for c in clients if c not in args.lifted)
        status = args.status if args.status_given or route.deny is None else route.deny.status
        deny = Deny(clients, status) if clients else None
    if deny is not None and (problems := deny_problems(deny, f"{route.name}.deny")):
        raise ValidationError(problems)
    warnings = _everyone(conn, route, deny)
    refusal = None
    if warnings and not args.force:
        why = f"{warnings[0]}; add --force to deny it anyway"
        refusal = ValidationError([Problem(f"{route.name}.deny.clients", why)])
    return run_edit(args, conn, "deny", route, replace(route, deny=deny), warnings=warnings, refusal=refusal)


def _everyone(conn: Connector, route: Route, deny: Deny | None) -> list[str]:
    """The added addresses that are (nearly) every client of the route, from its recent requests."""
    from connectors.client_share import deny_warnings, recent_traffic

    if deny is None or not any(c.kind == "ip" for c in deny.clients):
        return []
    return deny_warnings(recent_traffic(conn, route.name), route.deny, deny)


class _Status(argparse.Action):
    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: object, opt: str | None = None
    ) -> None:
        ns.status, ns.status_given = value, True


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")
    p.add_argument(
        "--client",
        action="append",
        metavar="HEADER=VALUE|ip=CIDR",
        help="a client to refuse: a request header's exact value, or the client's address range",
    )
    p.add_argument("--lift", action="append", metavar="CLIENT", help="stop denying this client")
    p.add_argument("--remove", action="store_true", help="drop every deny rule of the route")
    p.add_argument(
        "--status",
        type=int,
        default=403,
        action=_Status,
        help="the refusal's status (403, the only one allowed)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="deny an address even when it sent (nearly) all of the route's recent requests or several "
        "clients share it (a load balancer, a proxy, localhost): it blocks them all",
    )
    p.set_defaults(status_given=False)


def commands() -> list[Command]:
    return [
        Command(
            "deny",
            "refuse a client on one route (--for: for a while), e.g. --client x-user-id=crawler-7 --for 1h",
            with_connector(_cmd_deny, _check),
            _arguments,
            changes=True,
        )
    ]
