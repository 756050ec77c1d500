"""The ``gatewayctl-tui`` command: the console, the embedded demo, and headless commands for scripts.

    gatewayctl-tui                          open the console (Connect screen, or --gateway/--context)
    gatewayctl-tui demo [--no-tui]          backends + a real Envoy + traffic, then the console
    gatewayctl-tui up CONFIG | down NAME | gateways
    gatewayctl-tui routes | describe ROUTE | history | undo
    gatewayctl-tui set-weights | set-rate-limit | set-cors ROUTE ...

Every change takes the connector's one path (plan → diff → apply → verify → history) and prints the
diff first; ``--dry-run`` stops after the diff. Failures exit 1 (gateway errors) or 2 (usage) with
one line on stderr, ``error: <title>: <message>``, never a traceback.

This is the one module of ``tui/`` that wires concrete connectors together (native, kube).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from connectors.base import ApplyResult, Connector, EditKind, Plan
from connectors.errors import (
    GatewayError,
    GatewayNotRunning,
    NotFound,
    PermissionDenied,
    Problem,
    ValidationError,
    VerificationFailed,
)
from connectors.paths import gateways_dir
from connectors.registry import Target, native_targets, open_target, resolve

if TYPE_CHECKING:
    from connectors.model import Route, StringMatch

EXIT_GATEWAY = 1
EXIT_USAGE = 2
Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# ---------------------------------------------------------------- output helpers


def _out(text: str = "") -> None:
    print(text, flush=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns like kubectl's: stable for scripts and readable in any terminal."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [headers, *rows]
    ]
    return "\n".join(lines)


def _colour_diff(diff: str) -> str:
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return diff
    out = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(f"\x1b[1m{line.rstrip()}\x1b[0m\n")
        elif line.startswith("+"):
            out.append(f"\x1b[32m{line.rstrip()}\x1b[0m\n")
        elif line.startswith("-"):
            out.append(f"\x1b[31m{line.rstrip()}\x1b[0m\n")
        elif line.startswith("@@"):
            out.append(f"\x1b[36m{line.rstrip()}\x1b[0m\n")
        else:
            out.append(line)
    return "".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _matches(route: Route) -> str:
    return " | ".join(str(m) for m in route.matches)


def _backends(route: Route) -> str:
    if route.weight_mode == "percent":
        return " ".join(f"{b.name}={b.weight}" for b in route.backends)
    share = route.weight_share()
    return " ".join(f"{b.name}={b.weight}({share[b.name]:.0f}%)" for b in route.backends)


def _policies(route: Route) -> str:
    names = list(route.policy_names())
    if route.rate_limit is not None:
        i = next(i for i, n in enumerate(names) if n.startswith("ratelimit"))
        names[i] = f"ratelimit {route.rate_limit.describe()}"
    return ", ".join(names) or "-"


# ---------------------------------------------------------------- connecting


def _native_connector_class() -> Any:
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


def _connect(args: argparse.Namespace) -> Connector:
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


def _with_connector(
    run: Callable[[argparse.Namespace, Connector], int],
    check: Callable[[argparse.Namespace], None] | None = None,
) -> Handler:
    """A handler that checks its arguments (usage errors first), then connects, runs, disconnects."""

    def handler(args: argparse.Namespace) -> int:
        if check is not None:
            check(args)
        connector = _connect(args)
        try:
            return run(args, connector)
        finally:
            connector.close()

    return handler


# ---------------------------------------------------------------- reading commands


def _cmd_routes(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import route_to_dict
    from connectors.model.diff import to_yaml

    routes = conn.list_routes()
    if args.output == "json":
        _out(json.dumps([route_to_dict(r) for r in routes], indent=2))
    elif args.output == "yaml":
        _out(to_yaml([route_to_dict(r) for r in routes]).rstrip())
    else:
        rows = [[r.name, ",".join(r.hosts), _matches(r), _backends(r), _policies(r)] for r in routes]
        _out(_table(["NAME", "HOSTS", "MATCH", "BACKENDS", "POLICIES"], rows))
    return 0


def _cmd_describe(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import route_to_dict
    from connectors.model.diff import to_yaml

    route = conn.get_route(args.route)
    info = conn.info()
    _out(f"Route:     {route.name}")
    _out(f"Gateway:   {info.title} ({info.endpoint})")
    if route.source:
        _out(f"Source:    {route.source}")
    _out(f"Hosts:     {', '.join(route.hosts)}")
    _out(f"Match:     {_matches(route)}")
    _out(f"Backends:  {_backends(route)}")
    _out(f"Policies:  {_policies(route)}")
    _out("\nModel:")
    _out(to_yaml(route_to_dict(route)).rstrip())
    _out("\nNative objects:")
    _out(conn.native_objects(route.name).rstrip())
    return 0


def _cmd_history(args: argparse.Namespace, conn: Connector) -> int:
    entries = conn.history()
    if args.output == "json":
        _out(json.dumps([e.to_json() for e in entries], indent=2, ensure_ascii=False))
        return 0
    rows = [
        [
            e.id,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time)),
            e.user,
            e.action + (f" {e.undoes}" if e.undoes else ""),
            "yes" if e.verified else "NO",
            e.description,
        ]
        for e in entries
    ]
    _out(_table(["ID", "TIME", "USER", "ACTION", "VERIFIED", "CHANGE"], rows) if rows else "no changes yet")
    return 0


# ---------------------------------------------------------------- changing commands


def _print_plan(plan: Plan, show_native: bool) -> None:
    _out(f"Plan: {plan.description}")
    if plan.model_diff:
        _out(_colour_diff(plan.model_diff).rstrip())
    if show_native:
        _out("Native changes:" if plan.native_changes else "Native changes: none")
        for change in plan.native_changes:
            _out(f"# {change.label}")
            _out(_colour_diff(change.diff).rstrip())
    for warning in plan.warnings:
        _out(f"warning: {warning}")


def _print_result(result: ApplyResult) -> None:
    version = f", version {result.entry.version}" if result.entry.version else ""
    _out(f"Applied in {result.seconds * 1000:.0f} ms (change {result.entry.id}{version}).")
    status = "verified" if result.verification.ok else "NOT verified"
    _out(f"Verification: {status}")
    for line in result.verification.details:
        _out(f"  {line}")


def _run_plan(args: argparse.Namespace, conn: Connector, plan: Plan) -> int:
    _print_plan(plan, args.show_native)
    if plan.is_empty:
        _out("No change: the route already looks like that.")
        return 0
    if args.dry_run:
        _out("Dry run: nothing applied.")
        return 0
    if args.export:
        # For GitOps review: write the planned objects instead of applying them.
        for path in conn.export(plan, Path(args.export)):
            _out(f"Wrote {path}")
        _out("Exported: nothing applied.")
        return 0
    result = conn.apply(plan)
    _print_result(result)
    if not result.verification.ok:
        raise VerificationFailed("; ".join(result.verification.details) or "the gateway does not show it")
    return 0


def _scope_choice(args: argparse.Namespace, conn: Connector) -> None:
    # Kubernetes connectors refuse an edit of a shared policy object unless the operator chose this.
    if getattr(args, "all_affected", False) and hasattr(conn, "affect_shared"):
        conn.affect_shared = True


def _change(args: argparse.Namespace, conn: Connector, kind: EditKind, route: Route) -> int:
    caps = conn.capabilities()
    if not caps.can(kind) and not (args.dry_run or args.export):
        raise PermissionDenied(caps.why_not(kind))
    _scope_choice(args, conn)
    return _run_plan(args, conn, conn.plan([route]))


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems)


def _parse_weights(pairs: Sequence[str]) -> dict[str, int]:
    weights: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"expected BACKEND=WEIGHT, got {pair!r}")
        try:
            weight = int(value)
        except ValueError:
            raise UsageError(f"weight of {name!r} must be a whole number, got {value!r}") from None
        if name in weights:
            raise UsageError(f"backend {name!r} is given twice")
        weights[name] = weight
    return weights


def _check_weights(args: argparse.Namespace) -> None:
    args.weight_map = _parse_weights(args.weights)


def _cmd_set_weights(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model.edits import set_weights
    from connectors.model.validate import weight_problems

    route = set_weights(conn.get_route(args.route), args.weight_map)
    _refuse(weight_problems(route, route.name))
    return _change(args, conn, "weights", route)


def _duration(text: str, option: str) -> float:
    from connectors.model import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _check_rate_limit(args: argparse.Namespace) -> None:
    if (args.interval is not None or args.burst is not None) and args.requests is None:
        raise UsageError("--interval and --burst go with --requests")
    args.interval_seconds = _duration(args.interval, "--interval") if args.interval is not None else None


def _cmd_set_rate_limit(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import RateLimit
    from connectors.model.edits import set_rate_limit
    from connectors.model.validate import route_problems

    route = conn.get_route(args.route)
    current = route.rate_limit
    limit: RateLimit | None
    if args.remove:
        limit = None
    elif args.disable or args.enable:
        if current is None:
            raise ValidationError([Problem(f"{route.name}.rate_limit", "the route has no rate limit")])
        limit = replace(current, enabled=bool(args.enable))
    else:
        # Without --interval keep the route's current interval: "--requests 20" on 10/1m means 20/1m.
        interval = args.interval_seconds or (current.interval if current else 1.0)
        limit = RateLimit(requests=args.requests, interval=interval, burst=args.burst)
    edited = set_rate_limit(route, limit)
    _refuse([p for p in route_problems(edited, route.name) if ".rate_limit" in p.path])
    return _change(args, conn, "rate_limit", edited)


def _origin(text: str) -> StringMatch:
    """``https://x`` (exact), ``prefix:https://x``, ``regex:https://.*\\.x``, ``exact:...``."""
    from connectors.model import StringMatch

    for kind in ("prefix", "regex", "exact"):
        if text.startswith(kind + ":"):
            return StringMatch(kind, text[len(kind) + 1 :])  # type: ignore[arg-type]
    return StringMatch("exact", text)


def _check_cors(args: argparse.Namespace) -> None:
    others = [args.allow_origin, args.allow_method, args.allow_header, args.expose_header, args.max_age]
    if args.remove and (any(others) or args.allow_credentials):
        raise UsageError("--remove takes no other CORS option")
    if not args.remove and not args.allow_origin:
        raise UsageError("give --allow-origin ORIGIN... (or --remove)")
    args.max_age_seconds = _duration(args.max_age, "--max-age") if args.max_age is not None else None


def _cmd_set_cors(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import Cors
    from connectors.model.edits import set_cors
    from connectors.model.validate import cors_problems

    route = conn.get_route(args.route)
    cors: Cors | None = None
    if not args.remove:
        cors = Cors(
            allow_origins=tuple(_origin(o) for o in args.allow_origin),
            allow_methods=tuple(m.upper() for m in args.allow_method or ()),
            allow_headers=tuple(args.allow_header or ()),
            expose_headers=tuple(args.expose_header or ()),
            max_age=args.max_age_seconds,
            allow_credentials=args.allow_credentials,
        )
        _refuse(cors_problems(cors, f"{route.name}.cors"))
    return _change(args, conn, "cors", set_cors(route, cors))


def _cmd_undo(args: argparse.Namespace, conn: Connector) -> int:
    _scope_choice(args, conn)
    return _run_plan(args, conn, conn.plan_undo())


# ---------------------------------------------------------------- native gateway lifecycle


def _cmd_up(args: argparse.Namespace) -> int:
    native = _native_connector_class()
    config = Path(args.config).expanduser().resolve()
    if not config.is_file():
        raise NotFound(f"no config file at {config}")
    state_dir = Path(args.state_dir).expanduser() if args.state_dir else None
    if state_dir is None and args.name:
        state_dir = gateways_dir() / args.name
    conn = native.start(config, state_dir, readonly=args.readonly, owned=False)
    try:
        gateway = conn.gateway()
        _out(f"Gateway {gateway.name} is running (state {conn.state_dir}).")
        _out(f"  admin     {conn.admin_url}")
        for listener in gateway.listeners:
            _out(f"  listener  {listener.name} {conn.listener_url(listener.name)}")
        _out(f"  config    {conn.config_path}")
        handle = args.name or (str(conn.state_dir) if args.state_dir else gateway.name)
        _out(f"Stop it with: gatewayctl-tui down {handle}")
    finally:
        conn.close()
    return 0


def _native_target(spec: str) -> Target:
    target = resolve(spec)
    if target.kind != "native":
        raise UsageError(f"{spec!r} is not a native gateway")
    return target


def _cmd_down(args: argparse.Namespace) -> int:
    native = _native_connector_class()
    target = _native_target(args.name)
    try:
        conn = native.attach(Path(target.location))
    except GatewayNotRunning:
        _out(f"Gateway {target.name} is not running.")
        return 0
    try:
        if not conn.is_running():
            _out(f"Gateway {target.name} is not running.")
            return 0
        conn.stop()
    finally:
        conn.close()
    _out(f"Gateway {target.name} stopped.")
    return 0


def _gateway_status(native: Any, target: Target) -> tuple[str, dict[str, Any]]:
    try:
        state: dict[str, Any] = json.loads((Path(target.location) / "state.json").read_text("utf-8"))
    except (OSError, ValueError):
        state = {}
    try:
        conn = native.attach(Path(target.location))
    except GatewayError as exc:
        return f"stopped ({_one_line(str(exc))})", state
    try:
        reason = None if conn.is_running() else conn.health()
    finally:
        conn.close()
    return ("running" if reason is None else f"stopped ({_one_line(reason)})"), state


def _cmd_gateways(args: argparse.Namespace) -> int:
    native = _native_connector_class()
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
    if args.output == "json":
        _out(json.dumps(found, indent=2))
    elif not found:
        _out(f"No native gateways in {gateways_dir()} (start one with: gatewayctl-tui up CONFIG).")
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
        _out(_table(["NAME", "STATUS", "ADMIN", "LISTENERS", "STATE"], rows))
    return 0


# ---------------------------------------------------------------- the console and the demo


def _console_class() -> Any:
    """The Textual console, or None when this build has none (then a plain routes table stands in)."""
    try:
        from tui.app import ConsoleApp
    except ImportError:
        return None
    return ConsoleApp


def _plain_console(conn: Connector, wait: Callable[[], None]) -> None:
    """Fallback without the Textual console: the routes as a table, until Ctrl-C."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{conn.info().title} — routes (Ctrl-C to quit)")
    for column in ("Name", "Hosts", "Match", "Backends", "Policies"):
        table.add_column(column)
    for r in conn.list_routes():
        table.add_row(r.name, ", ".join(r.hosts), _matches(r), _backends(r), _policies(r))
    Console().print(table)
    wait()


def _sleep_forever() -> None:
    while True:
        time.sleep(3600)


def _cmd_console(args: argparse.Namespace) -> int:
    app_class = _console_class()
    wanted = bool(args.gateway or args.context or args.namespace)
    if app_class is not None:
        # The console opens the gateway in a worker after its first frame, and owns (closes) it.
        opener = partial(_connect, args) if wanted else None
        with contextlib.suppress(KeyboardInterrupt):
            app_class(None, opener=opener, readonly=args.readonly, prometheus=args.prometheus).run()
        return 0
    conn = _connect(args) if wanted else None
    try:
        if conn is not None:
            _plain_console(conn, _sleep_forever)
        else:
            raise GatewayError("the console is not available in this build; see gatewayctl-tui --help")
    except KeyboardInterrupt:
        return 0
    finally:
        if conn is not None:
            conn.close()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from connectors.demo.runner import DemoOptions, DemoRunner, DemoStopped, exit_code, stop_signals

    options = DemoOptions(
        state_dir=Path(args.state_dir).expanduser() if args.state_dir else None, traffic=not args.no_traffic
    )
    runner = DemoRunner(options)
    app_class = None if args.no_tui else _console_class()
    app: Any = None
    signalled: list[int] = []

    def quit_console(signum: int) -> bool:
        """First SIGTERM/SIGHUP/SIGINT with the console up: let it quit so the terminal is restored."""
        if app is None or not app.is_running:
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        signalled.append(signum)
        loop.call_soon_threadsafe(app.exit)
        return True

    started = False
    try:
        with stop_signals(quit_console):
            try:
                ctx = runner.start()
                started = True
                connector = ctx.connector
                assert connector is not None
                if app_class is None:
                    for line in runner.banner():
                        _out(line)
                    if not args.no_tui:
                        _out("(the Textual console is not available in this build; showing the routes)")
                        _plain_console(connector, lambda: None)
                    _out(
                        "Press Ctrl-C to stop."
                        if args.duration is None
                        else f"Stopping in {args.duration:g}s."
                    )
                    _wait_demo(connector, args.duration)
                else:
                    app = app_class(
                        connector, readonly=args.readonly, prometheus=args.prometheus or ctx.prometheus_url
                    )
                    _run_app_for(app, args.duration)
            finally:
                app = None
                problems = runner.stop()
                if started:
                    _out(runner.traffic_summary())
                    _out("Demo stopped.")
                for problem in problems:
                    print(f"error: while stopping the demo: {problem}", file=sys.stderr)
    except DemoStopped as stopped:
        return exit_code(stopped.signum)
    return exit_code(signalled[0]) if signalled else 0


def _wait_demo(connector: Any, duration: float | None) -> None:
    """Serve until ``duration`` passes or a signal arrives; end early if Envoy goes away."""
    deadline = None if duration is None else time.monotonic() + duration
    next_check = time.monotonic() + 2.0
    while deadline is None or time.monotonic() < deadline:
        left = 0.5 if deadline is None else min(0.5, max(0.0, deadline - time.monotonic()))
        time.sleep(left)
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + 2.0
            if not connector.is_running():
                raise GatewayNotRunning(connector.health() or "the demo's Envoy stopped")


def _run_app_for(app: Any, duration: float | None) -> None:
    timer = None
    if duration is not None:

        def quit_app() -> None:
            with contextlib.suppress(RuntimeError):  # the console already quit
                app.call_from_thread(app.exit)

        timer = threading.Timer(duration, quit_app)
        timer.daemon = True
        timer.start()
    try:
        app.run()
    finally:
        if timer is not None:
            timer.cancel()


# ---------------------------------------------------------------- the parser


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


def _change_options() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("--dry-run", action="store_true", help="print the diff, apply nothing")
    p.add_argument("--show-native", action="store_true", help="also print the diff of the native objects")
    p.add_argument(
        "--all-affected",
        action="store_true",
        help="also change the other routes and workloads a shared policy object applies to "
        "(Kubernetes gateways refuse such an edit without it, listing them)",
    )
    p.add_argument(
        "--export",
        metavar="PATH",
        help="write the planned objects as kubectl-applyable YAML to PATH (a file, or a directory) "
        "instead of applying them (Kubernetes gateways)",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gatewayctl-tui",
        description="A keyboard-first terminal console for operating API gateways, and headless commands.",
    )
    _add_global_options(parser, suppress=False)
    parser.set_defaults(func=_cmd_console)
    common = _Parser(add_help=False)
    _add_global_options(common, suppress=True)
    change = _change_options()
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, help: str, *parents: _Parser) -> argparse.ArgumentParser:
        inherited = [common, *parents]
        p: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, parents=inherited)
        return p

    p = command("demo", "run the embedded demo: two backends, a real Envoy, traffic, and the console")
    p.add_argument("--no-tui", action="store_true", help="serve without the console until Ctrl-C")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop by itself after SECONDS")
    p.add_argument("--no-traffic", action="store_true", help="do not generate demo traffic")
    p.add_argument("--state-dir", metavar="DIR", help="where the demo keeps its files")
    p.set_defaults(func=_cmd_demo)

    p = command("up", "start a native gateway (Envoy) from a YAML config, detached")
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("--name", help="name of its state directory (default: the config's gateway name)")
    p.add_argument("--state-dir", metavar="DIR", help="state directory (default: under the state dir)")
    p.set_defaults(func=_cmd_up)

    p = command("down", "stop a native gateway")
    p.add_argument("name", metavar="NAME|STATE_DIR")
    p.set_defaults(func=_cmd_down)

    p = command("gateways", "list native gateways and whether each is running")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p.set_defaults(func=_cmd_gateways)

    p = command("routes", "list routes: hosts, match, backends with weights, policies")
    p.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")
    p.set_defaults(func=_with_connector(_cmd_routes))

    p = command("describe", "show a route and its native objects")
    p.add_argument("route", metavar="ROUTE")
    p.set_defaults(func=_with_connector(_cmd_describe))

    p = command("history", "list applied changes, newest last")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p.set_defaults(func=_with_connector(_cmd_history))

    p = command("undo", "restore the routes of the last change not undone yet", change)
    p.set_defaults(func=_with_connector(_cmd_undo))

    p = command("set-weights", "set backend weights of a route, e.g. shop v1=50 v2=50", change)
    p.add_argument("route", metavar="ROUTE")
    p.add_argument("weights", metavar="BACKEND=WEIGHT", nargs="+")
    p.set_defaults(func=_with_connector(_cmd_set_weights, _check_weights))

    p = command("set-rate-limit", "set, disable, enable or remove a route's local rate limit", change)
    p.add_argument("route", metavar="ROUTE")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--requests", type=int, metavar="N", help="requests allowed per interval")
    what.add_argument("--disable", action="store_true", help="keep the limit but stop enforcing it")
    what.add_argument("--enable", action="store_true", help="enforce a disabled limit again")
    what.add_argument("--remove", action="store_true", help="remove the limit")
    p.add_argument(
        "--interval", metavar="DURATION", help="refill interval: 1s, 1m... (default: current or 1s)"
    )
    p.add_argument("--burst", type=int, metavar="N", help="bucket size (default: N of --requests)")
    p.set_defaults(func=_with_connector(_cmd_set_rate_limit, _check_rate_limit))

    p = command("set-cors", "set (replace) or remove a route's CORS policy", change)
    p.add_argument("route", metavar="ROUTE")
    p.add_argument(
        "--allow-origin",
        nargs="+",
        action="extend",
        metavar="ORIGIN",
        help="exact origin (https://app.example), prefix:https://app. or regex:https://.*\\.example",
    )
    p.add_argument("--allow-method", nargs="+", action="extend", metavar="M")
    p.add_argument("--allow-header", nargs="+", action="extend", metavar="H")
    p.add_argument("--expose-header", nargs="+", action="extend", metavar="H")
    p.add_argument("--max-age", metavar="DURATION", help="how long browsers may cache a preflight")
    p.add_argument("--allow-credentials", action="store_true")
    p.add_argument("--remove", action="store_true", help="remove the CORS policy")
    p.set_defaults(func=_with_connector(_cmd_set_cors, _check_cors))
    return parser


# ---------------------------------------------------------------- entry point


def _error(line: str) -> None:
    print(f"error: {line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 gateway error, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        handler: Handler = args.func
        return handler(args)
    except UsageError as exc:
        _error(f"usage: {_one_line(str(exc))} (see gatewayctl-tui --help)")
        return EXIT_USAGE
    except ValidationError as exc:
        if len(exc.problems) > 1:
            _error(f"{exc.title}: {len(exc.problems)} problems")
            for problem in exc.problems:
                print(f"  {_one_line(str(problem))}", file=sys.stderr)
        else:
            _error(f"{exc.title}: {_one_line(str(exc))}")
        return EXIT_GATEWAY
    except GatewayError as exc:
        _error(f"{exc.title}: {_one_line(str(exc))}")
        return EXIT_GATEWAY
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return EXIT_GATEWAY
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:
        if os.environ.get("GATEWAYCTL_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {_one_line(str(exc))} (GATEWAYCTL_DEBUG=1 shows more)")
        return EXIT_GATEWAY


if __name__ == "__main__":
    sys.exit(main())
