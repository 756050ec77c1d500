"""The argument parser: global options (before or after the command, like kubectl) and one
subcommand per ``Command`` that each command group's ``commands()`` makes."""

from __future__ import annotations

import argparse
from typing import Any

from connectors.registry import cli_options

from . import (
    bundle,
    changing,
    console,
    deny,
    drift,
    fault,
    health,
    lifecycle,
    match,
    oncall,
    proxies,
    reading,
    shadow,
    timebox,
)
from .common import Parser


def _add_global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options go before or after the command (like kubectl)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("gateway selection")
    for option in cli_options():  # each connector's own (--gateway; --context, -n)
        group.add_argument(
            *option.flags, dest=option.dest, metavar=option.metavar, default=default(None), help=option.help
        )
    group.add_argument(
        "--readonly", action="store_true", default=default(False), help="refuse every change (browse only)"
    )
    group.add_argument(
        "--prometheus", metavar="URL", default=default(None), help="Prometheus for the console's charts"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gatewayctl-tui",
        description="A keyboard-first terminal console for operating API gateways, and headless commands.",
    )
    _add_global_options(parser, suppress=False)
    parser.set_defaults(func=console.cmd_console)
    common = Parser(add_help=False)
    _add_global_options(common, suppress=True)
    change = changing.change_options()
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    groups = (
        console.commands(),
        lifecycle.commands(),
        reading.commands(),
        drift.commands(),
        changing.commands(),
        proxies.commands(),
        match.commands(),
        health.commands(),
        bundle.commands(),
        shadow.commands(),
        deny.commands(),
        fault.commands(),
        timebox.commands(),
        oncall.commands(),
    )
    for command in (c for group in groups for c in group):
        parents = [common, change] if command.changes else [common]
        p: argparse.ArgumentParser = sub.add_parser(
            command.name, help=command.help, description=command.help, parents=parents
        )
        command.arguments(p)
        p.set_defaults(func=command.run)
    return parser
