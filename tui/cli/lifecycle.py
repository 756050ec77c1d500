"""Connecting to a gateway, and the native gateway's lifecycle: ``up``, ``down``, ``gateways``.

Gateways are found, opened, started and stopped through ``connectors.registry``; no concrete
connector is imported here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.errors import NotFound, PermissionDenied

from .common import EXIT_GATEWAY, Command, Handler, UsageError, note, out, table

if TYPE_CHECKING:
    from connectors.base import Connector

# The registry (entry points, connector factories) and the change pipeline are imported by the
# handlers that use them: building the parser, --help and a usage error load neither.

# ---------------------------------------------------------------- connecting


def connect(args: argparse.Namespace) -> Connector:
    """The gateway the global options name; without any, the only native gateway there is."""
    from connectors.paths import gateways_dir
    from connectors.registry import lifecycle, open_target, resolve

    if args.context or args.namespace:
        # A namespace alone: kubectl's current context ("ctx:/NS").
        ctx_spec = f"ctx:{args.context or ''}" + (f"/{args.namespace}" if args.namespace else "")
        return open_target(resolve(ctx_spec), readonly=args.readonly)
    spec: str | None = args.gateway or os.environ.get("GATEWAYCTL_GATEWAY")
    if spec:
        return open_target(resolve(spec), readonly=args.readonly)
    targets = lifecycle().targets()
    if len(targets) == 1:
        return open_target(targets[0], readonly=args.readonly)
    if not targets:
        raise NotFound(
            f"no native gateway in {gateways_dir()}: start one (gatewayctl-tui up CONFIG, or "
            "gatewayctl-tui demo) or choose one with --gateway NAME|STATE_DIR or --context"
        )
    names = ", ".join(t.name for t in targets)
    raise UsageError(f"several gateways ({names}): choose one with --gateway NAME")


def with_connector(
    run: Callable[[argparse.Namespace, Connector], int],
    check: Callable[[argparse.Namespace], None] | None = None,
    *,
    reverts_due: bool = True,
) -> Handler:
    """A handler that checks its arguments (usage errors first), then connects, runs, disconnects.
    A gateway that keeps its time boxes on itself (Kubernetes) has the due ones reverted first,
    reported on stderr (``reverts_due``: False for ``revert-expired``, which reports them itself)."""

    def handler(args: argparse.Namespace) -> int:
        if check is not None:
            check(args)
        connector = connect(args)
        try:
            for line in connector.notices():  # e.g. how a change a crash interrupted was reconciled
                note(line)
            if reverts_due:
                _revert_due(connector)
            return run(args, connector)
        finally:
            connector.close()

    return handler


def _revert_due(connector: Connector) -> None:
    if not connector.reverts_on_sight:  # asked first: a read of such a gateway loads no change pipeline
        return
    from connectors.change.timebox import revert_on_sight

    for line in revert_on_sight(connector):
        print(f"gatewayctl-tui: time box: {line}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- native gateway lifecycle


def _cmd_up(args: argparse.Namespace) -> int:
    from connectors.registry import lifecycle

    state_dir = Path(args.state_dir).expanduser() if args.state_dir else None
    started = lifecycle().up(Path(args.config), name=args.name, state_dir=state_dir, readonly=args.readonly)
    out(f"Gateway {started.name} is running (state {started.state_dir}).")
    out(f"  admin     {started.admin_url}  (only you can open it)")
    if started.stats_url:
        out(f"  metrics   {started.stats_url}  (loopback, for Prometheus)")
    for name, url in started.listeners.items():
        out(f"  listener  {name} {url}")
    out(f"  config    {started.config_path}")
    for warning in started.warnings:
        out(f"warning: {warning}")
    handle = args.name or (str(started.state_dir) if args.state_dir else started.name)
    out(f"Stop it with: gatewayctl-tui down {handle}")
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    from connectors.change.pipeline import READONLY_REFUSAL
    from connectors.registry import lifecycle_for, resolve

    if args.readonly:  # stopping a gateway is the biggest change of all
        raise PermissionDenied(READONLY_REFUSAL)
    target = resolve(args.name)
    gateways = lifecycle_for(target)
    if gateways is None:
        raise UsageError(f"{args.name!r} is not a native gateway")
    if not gateways.down(target):
        out(f"Gateway {target.name} is not running.")
        return 0
    out(f"Gateway {target.name} stopped.")
    return 0


def _found_gateways(name: str | None = None) -> list[dict[str, Any]]:
    from connectors.registry import lifecycle, resolve

    gateways = lifecycle()
    found: list[dict[str, Any]] = []
    targets = gateways.targets() if name is None else [resolve(name)]
    for target in targets:
        status = gateways.status(target)
        found.append(
            {
                # What --gateway and down take: the state directory's name (up --name), then the
                # gateway's own name from its YAML when that differs.
                "name": Path(target.location).name,
                "gateway": target.name,
                "status": status.label,
                "state": status.state or ("running" if status.running else "stopped"),
                "reason": status.reason,
                "restarts": status.restarts,
                "warning": status.warning,
                "admin": status.admin_url,
                "listeners": {k: f"http://{v}" for k, v in status.listeners.items()},
                "state_dir": target.location,
            }
        )
    return found


def _cmd_gateways(args: argparse.Namespace) -> int:
    """Every native gateway; with NAME only that one, exiting 1 unless it is running (for scripts)."""
    found = _found_gateways(args.name)
    if args.output == "json":
        out(json.dumps(found, indent=2))
    elif not found:
        from connectors.paths import gateways_dir

        out(f"No native gateways in {gateways_dir()} (start one with: gatewayctl-tui up CONFIG).")
    else:
        rows = [
            [
                g["name"] + (f" ({g['gateway']})" if g["gateway"] != g["name"] else ""),
                g["status"],
                g["admin"],
                " ".join(g["listeners"].values()),
                g["state_dir"],
            ]
            for g in found
        ]
        out(table(["NAME", "STATUS", "ADMIN", "LISTENERS", "STATE"], rows))
    if args.name is not None and found[0]["state"] != "running":
        return EXIT_GATEWAY
    return 0


# ---------------------------------------------------------------- the commands


def _up_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("--name", help="name of its state directory (default: the config's gateway name)")
    p.add_argument("--state-dir", metavar="DIR", help="state directory (default: under the state dir)")


def _down_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME|STATE_DIR")


def _gateways_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", nargs="?", help="only this gateway; exit 1 unless it is running")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")


def commands() -> list[Command]:
    return [
        Command("up", "start a native gateway (Envoy) from a YAML config, detached", _cmd_up, _up_arguments),
        Command("down", "stop a native gateway", _cmd_down, _down_arguments),
        Command(
            "gateways",
            "list native gateways and whether each is running",
            _cmd_gateways,
            _gateways_arguments,
        ),
    ]
