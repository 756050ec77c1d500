"""The commands that read a gateway: ``routes``, ``describe``, ``history``."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import TYPE_CHECKING

from .common import EXIT_GATEWAY, Command, backends, matches, out, policies, table, warn
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector


def _state_of(conn: Connector, drift: tuple[str, ...] | None = None) -> int:
    """Warn about drift (what Envoy serves is not what was printed), then ``_serving``."""
    for line in conn.drift() if drift is None else drift:
        warn(f"drift: {line} (see gatewayctl-tui drift)")
    return _serving(conn)


def _cmd_routes(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import route_to_dict
    from connectors.model.diff import to_yaml
    from connectors.redact import redact

    routes = conn.list_routes()
    if args.output == "json":
        out(json.dumps(redact([route_to_dict(r) for r in routes]), indent=2))
    elif args.output == "yaml":
        out(to_yaml([route_to_dict(r) for r in routes]).rstrip())
    else:
        rows = [[r.name, ",".join(r.hosts), matches(r), backends(r), policies(r)] for r in routes]
        out(table(["NAME", "HOSTS", "MATCH", "BACKENDS", "POLICIES"], rows))
    return _state_of(conn)


def _serving(conn: Connector) -> int:
    """0 when the gateway serves; else a warning on stderr and exit 1: what was printed is its
    configuration, and a script must notice that nothing serves it."""
    reason = conn.health()
    if reason is None:
        return 0
    print(f"warning: the gateway is not serving this ({reason})", file=sys.stderr, flush=True)
    return EXIT_GATEWAY


def _cmd_describe(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import route_to_dict
    from connectors.model.diff import to_yaml

    route = conn.get_route(args.route)
    info = conn.info()
    out(f"Route:     {route.name}")
    out(f"Gateway:   {info.title} ({info.endpoint})")
    if route.source:
        out(f"Source:    {route.source}")
    out(f"Hosts:     {', '.join(route.hosts)}")
    out(f"Match:     {matches(route)}")
    out(f"Backends:  {backends(route)}")
    out(f"Policies:  {policies(route)}")
    for scope in route.scopes:
        out(f"Scope:     {scope.describe()}")
    out("\nModel:")
    out(to_yaml(route_to_dict(route)).rstrip())
    out("\nNative objects:")
    out(conn.native_objects(route.name).rstrip())
    drift = conn.drift()
    named = re.compile(rf"(?<![\w~-]){re.escape(route.name)}(?![\w~-])")
    mine = [line for line in drift if named.search(line)]
    if mine:
        out("\nDrift (Envoy does not serve what is shown above):")
        for line in mine:
            out(f"  {line}")
    return _state_of(conn, drift)


def _cmd_history(args: argparse.Namespace, conn: Connector) -> int:
    entries = conn.history()
    if args.output == "json":
        from connectors.redact import redact  # entries written before secrets were masked

        out(json.dumps([redact(e.to_json()) for e in entries], indent=2, ensure_ascii=False))
        return 0
    rows = [
        [
            e.id,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time)),
            e.user,
            (f"canary {e.event}" if e.kind == "canary" else e.action) + (f" {e.undoes}" if e.undoes else ""),
            "yes" if e.verified else "NO",
            e.description,
        ]
        for e in entries
    ]
    out(table(["ID", "TIME", "USER", "ACTION", "VERIFIED", "CHANGE"], rows) if rows else "no changes yet")
    return 0


def _routes_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")


def _describe_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")


def _history_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")


def commands() -> list[Command]:
    return [
        Command(
            "routes",
            "list routes: hosts, match, backends with weights, policies",
            with_connector(_cmd_routes),
            _routes_arguments,
        ),
        Command(
            "describe",
            "show a route and its native objects",
            with_connector(_cmd_describe),
            _describe_arguments,
        ),
        Command(
            "history",
            "list applied changes, newest last",
            with_connector(_cmd_history),
            _history_arguments,
        ),
    ]
