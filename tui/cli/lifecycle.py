"""Connecting to a gateway, and the native gateway's lifecycle: ``up``, ``down``, ``gateways``.

This is the one module of ``tui/`` that wires concrete connectors together: it imports the native
connector and ``open_cluster`` and reads a native gateway's ``state.json``, so that moving to a
connector registry changes this module alone.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.base import Connector
from connectors.errors import GatewayError, GatewayNotRunning, NotFound
from connectors.paths import gateways_dir
from connectors.registry import Target, native_targets, open_target, resolve

from .common import Command, Handler, UsageError, one_line, out, table

# ---------------------------------------------------------------- connecting


def native_connector_class() -> Any:
    try:
        from connectors.native import NativeConnector  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise GatewayError(f"the native connector is not available in this build ({exc})") from exc
    return NativeConnector


def _open(target: Target, readonly: bool) -> Connector:
    try:
        return open_target(target, readonly=readonly)
    except ImportError as exc:
        what = "native" if target.kind == "native" else "Kubernetes"
        raise GatewayError(f"the {what} connector is not available in this build ({exc})") from exc


def connect(args: argparse.Namespace) -> Connector:
    """The gateway the global options name; without any, the only native gateway there is."""
    if args.context or args.namespace:
        if args.context:
            ctx_spec = f"ctx:{args.context}" + (f"/{args.namespace}" if args.namespace else "")
            return _open(resolve(ctx_spec), args.readonly)
        try:  # a namespace alone: kubectl's current context
            from connectors.kube import open_cluster  # type: ignore[attr-defined]
        except ImportError as exc:
            raise GatewayError(f"the Kubernetes connectors are not available in this build ({exc})") from exc
        connector: Connector = open_cluster(context=None, namespace=args.namespace, readonly=args.readonly)
        return connector
    spec: str | None = args.gateway or os.environ.get("GATEWAYCTL_GATEWAY")
    if spec:
        return _open(resolve(spec), args.readonly)
    targets = native_targets()
    if len(targets) == 1:
        return _open(targets[0], args.readonly)
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
) -> Handler:
    """A handler that checks its arguments (usage errors first), then connects, runs, disconnects."""

    def handler(args: argparse.Namespace) -> int:
        if check is not None:
            check(args)
        connector = connect(args)
        try:
            return run(args, connector)
        finally:
            connector.close()

    return handler


# ---------------------------------------------------------------- native gateway lifecycle


def _cmd_up(args: argparse.Namespace) -> int:
    native = native_connector_class()
    config = Path(args.config).expanduser().resolve()
    if not config.is_file():
        raise NotFound(f"no config file at {config}")
    state_dir = Path(args.state_dir).expanduser() if args.state_dir else None
    if state_dir is None and args.name is not None:
        from connectors.native.validation import state_dir_for

        state_dir = state_dir_for(args.name)
    conn = native.start(config, state_dir, readonly=args.readonly, owned=False)
    try:
        gateway = conn.gateway()
        out(f"Gateway {gateway.name} is running (state {conn.state_dir}).")
        out(f"  admin     {conn.admin_url}")
        for listener in gateway.listeners:
            out(f"  listener  {listener.name} {conn.listener_url(listener.name)}")
        out(f"  config    {conn.config_path}")
        handle = args.name or (str(conn.state_dir) if args.state_dir else gateway.name)
        out(f"Stop it with: gatewayctl-tui down {handle}")
    finally:
        conn.close()
    return 0


def _native_target(spec: str) -> Target:
    target = resolve(spec)
    if target.kind != "native":
        raise UsageError(f"{spec!r} is not a native gateway")
    return target


def _cmd_down(args: argparse.Namespace) -> int:
    native = native_connector_class()
    target = _native_target(args.name)
    try:
        conn = native.attach(Path(target.location))
    except GatewayNotRunning:
        out(f"Gateway {target.name} is not running.")
        return 0
    try:
        if not conn.is_running():
            out(f"Gateway {target.name} is not running.")
            return 0
        conn.stop()
    finally:
        conn.close()
    out(f"Gateway {target.name} stopped.")
    return 0


def _gateway_status(native: Any, target: Target) -> tuple[str, dict[str, Any]]:
    try:
        state: dict[str, Any] = json.loads((Path(target.location) / "state.json").read_text("utf-8"))
    except (OSError, ValueError):
        state = {}
    try:
        conn = native.attach(Path(target.location))
    except GatewayError as exc:
        return f"stopped ({one_line(str(exc))})", state
    try:
        reason = None if conn.is_running() else conn.health()
    finally:
        conn.close()
    return ("running" if reason is None else f"stopped ({one_line(reason)})"), state


def _found_gateways() -> list[dict[str, Any]]:
    native = native_connector_class()
    found = []
    for target in native_targets():
        status, state = _gateway_status(native, target)
        listeners = state.get("listeners") or {}
        found.append(
            {
                # What --gateway and down take: the state directory's name (up --name), then the
                # gateway's own name from its YAML when that differs.
                "name": Path(target.location).name,
                "gateway": target.name,
                "status": status,
                "admin": state.get("admin_url", ""),
                "listeners": {k: f"http://{v}" for k, v in listeners.items()},
                "state_dir": target.location,
            }
        )
    return found


def _cmd_gateways(args: argparse.Namespace) -> int:
    found = _found_gateways()
    if args.output == "json":
        out(json.dumps(found, indent=2))
    elif not found:
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
    return 0


# ---------------------------------------------------------------- the commands


def _up_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("--name", help="name of its state directory (default: the config's gateway name)")
    p.add_argument("--state-dir", metavar="DIR", help="state directory (default: under the state dir)")


def _down_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME|STATE_DIR")


def _gateways_arguments(p: argparse.ArgumentParser) -> None:
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
