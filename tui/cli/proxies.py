"""`proxies ROUTE`: whether the gateway's proxies hold a route as its objects say (drift), per proxy."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .common import Command, out
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector


def _cmd_proxies(args: argparse.Namespace, conn: Connector) -> int:
    status = conn.proxy_status(args.route)
    if status is None:
        out(f"error: {conn.info().title} does not ask its proxies; `describe {args.route}` shows its config")
        return 1
    if args.output == "json":
        out(json.dumps({"route": args.route, "ok": status.ok, "details": list(status.details)}, indent=2))
    else:
        out("\n".join(status.details))
    return 0 if status.ok else 1


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")


def commands() -> list[Command]:
    return [
        Command(
            "proxies",
            "whether each gateway proxy holds a route as its objects say (Kubernetes gateways)",
            with_connector(_cmd_proxies),
            _arguments,
        )
    ]
