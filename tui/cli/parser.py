"""The argument parser: global options (before or after the command, like kubectl) and one
subcommand per ``Command`` that each command group's ``commands()`` makes."""

from __future__ import annotations

import argparse
from typing import Any

from . import bundle, changing, console, health, lifecycle, match, reading
from .common import Parser


def _add_global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options go before or after the command (like kubectl)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("gateway selection")
    group.add_argument(
        "--gateway",
        metavar="NAME|STATE_DIR",
        default=default(None),
        help="a native gateway by name or state directory (default: $GATEWAYCTL_GATEWAY, or the only one)",
    )
    group.add_argument("--context", metavar="CTX", default=default(None), help="a kubeconfig context")
    group.add_argument(
        "-n", "--namespace", metavar="NS", default=default(None), help="a Kubernetes namespace"
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
        changing.commands(),
        match.commands(),
        health.commands(),
        bundle.commands(),
    )
    for command in (c for group in groups for c in group):
        parents = [common, change] if command.changes else [common]
        p: argparse.ArgumentParser = sub.add_parser(
            command.name, help=command.help, description=command.help, parents=parents
        )
        command.arguments(p)
        p.set_defaults(func=command.run)
    return parser
