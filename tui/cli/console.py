"""The console (the default command) and the embedded demo: ``gatewayctl-tui [demo]``."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

from connectors.errors import GatewayNotRunning

from .common import Command, out
from .lifecycle import connect


def cmd_console(args: argparse.Namespace) -> int:
    """The default command: the console on the gateway the global options name (or Connect)."""
    from tui.app import ConsoleApp

    wanted = bool(args.gateway or args.context or args.namespace)
    # The console opens the gateway in a worker after its first frame, and owns (closes) it.
    opener = partial(connect, args) if wanted else None
    with contextlib.suppress(KeyboardInterrupt):
        ConsoleApp(None, opener=opener, readonly=args.readonly, prometheus=args.prometheus).run()
    return 0


# ---------------------------------------------------------------- the demo


class _DemoConsole:
    """The console of a running demo, and the signals that asked it to quit."""

    def __init__(self) -> None:
        self.app: Any = None
        self.signalled: list[int] = []

    def quit(self, signum: int) -> bool:
        """First SIGTERM/SIGHUP/SIGINT with the console up: let it quit so the terminal is restored."""
        app = self.app
        if app is None or not app.is_running:
            return False
        import asyncio  # loaded by then (the console runs on it); not by every other command

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self.signalled.append(signum)
        loop.call_soon_threadsafe(app.exit)
        return True


def _serve_demo(args: argparse.Namespace, runner: Any, ctx: Any, console: _DemoConsole) -> None:
    """Show the started demo: the console, or (without one) its banner and routes until it ends."""
    connector = ctx.connector
    assert connector is not None
    if args.no_tui:
        for line in runner.banner():
            out(line)
        out("Press Ctrl-C to stop." if args.duration is None else f"Stopping in {args.duration:g}s.")
        _wait_demo(connector, args.duration)
        return
    from tui.app import ConsoleApp

    console.app = ConsoleApp(
        connector,
        readonly=args.readonly,
        prometheus=args.prometheus or ctx.prometheus_url,
        # The console adds whether Envoy still listens (its URL) or no longer answers, as it is then.
        stops_on_quit=f"the demo gateway {ctx.connector.info().name}",
    )
    _run_app_for(console.app, args.duration)


def _cmd_demo(args: argparse.Namespace) -> int:
    from connectors.demo.runner import DemoOptions, DemoRunner, DemoStopped, exit_code, stop_signals

    options = DemoOptions(
        state_dir=Path(args.state_dir).expanduser() if args.state_dir else None, traffic=not args.no_traffic
    )
    runner = DemoRunner(options)
    console = _DemoConsole()
    started = False
    try:
        with stop_signals(console.quit):
            try:
                ctx = runner.start()
                started = True
                _serve_demo(args, runner, ctx, console)
            finally:
                console.app = None
                problems = runner.stop()
                if started:
                    out(runner.traffic_summary())
                    out("Demo stopped.")
                for problem in problems:
                    print(f"error: while stopping the demo: {problem}", file=sys.stderr)
    except DemoStopped as stopped:
        return exit_code(stopped.signum)
    return exit_code(console.signalled[0]) if console.signalled else 0


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


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-tui", action="store_true", help="serve without the console until Ctrl-C")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop by itself after SECONDS")
    p.add_argument("--no-traffic", action="store_true", help="do not generate demo traffic")
    p.add_argument("--state-dir", metavar="DIR", help="where the demo keeps its files")


def commands() -> list[Command]:
    return [
        Command(
            "demo",
            "run the embedded demo: two backends, a real Envoy, traffic, and the console",
            _cmd_demo,
            _demo_arguments,
        )
    ]
