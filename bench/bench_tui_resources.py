"""The console's memory with 10,000 routes, and its CPU while idle with a 1 s live refresh.

* RSS: the console (headless, its own process) on the in-memory connector with 10,000 routes, after
  the table is filled and drawn; a bare Textual hello-world's RSS is printed for reference.
* Idle CPU: the console on a real demo gateway (Envoy, two backends, no generated traffic), polling
  health, routes and Envoy's metrics every second; the console process's CPU time over the window,
  as a share of one core (Envoy and the backends are other processes/threads and not counted).

    .venv/bin/python bench/bench_tui_resources.py [--idle-seconds 30]

Goals: RSS < 150 MB with 10,000 routes; idle CPU < 3 % of one core.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZE = (160, 50)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child_hello() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Hello(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("Hello, world")

        def on_ready(self) -> None:
            self.set_timer(0.5, self._report)

        def _report(self) -> None:
            print(f"rss {rss_mb():.1f}", flush=True)
            self.exit()

    Hello().run(headless=True, size=SIZE)


def child_rss(routes: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.test_tui_support import StaticConnector, many_routes
    from tui.app import ConsoleApp

    class Measured(ConsoleApp):
        def watch_routes(self, value: Any) -> None:
            if self.routes_loaded and len(value) == routes:
                self.set_timer(2.5, self._report)  # a few polls later: steady state

        def _report(self) -> None:
            print(f"rss {rss_mb():.1f}", flush=True)
            self.exit()

    Measured(StaticConnector(many_routes(routes))).run(headless=True, size=SIZE)


def child_idle(state_dir: str, seconds: float) -> None:
    sys.path.insert(0, str(ROOT))
    from connectors.native import NativeConnector
    from tui.app import ConsoleApp

    class Measured(ConsoleApp):
        def watch_routes(self, value: Any) -> None:
            if self.routes_loaded and not hasattr(self, "_measuring"):
                self._measuring = True
                self.set_timer(3.0, self._start)  # warm up: metrics source opened, first polls done

        def _start(self) -> None:
            self._cpu, self._wall = time.process_time(), time.monotonic()
            self.set_timer(seconds, self._report)

        def _report(self) -> None:
            cpu, wall = time.process_time() - self._cpu, time.monotonic() - self._wall
            print(f"idle {cpu:.3f} {wall:.3f} {self._polls}", flush=True)
            self.exit()

    Measured(NativeConnector.attach(Path(state_dir))).run(headless=True, size=SIZE)


def run_child(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith(("rss", "idle"))]
    if not lines:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-2000:]}")
    return lines[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child is not None:
        kind = args.child[0]
        if kind == "hello":
            child_hello()
        elif kind == "rss":
            child_rss(int(args.child[1]))
        else:
            child_idle(args.child[1], float(args.child[2]))
        return

    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        os.environ["GATEWAYCTL_CONFIG_DIR"] = str(Path(tmp) / "config")
        os.environ["GATEWAYCTL_STATE_DIR"] = str(Path(tmp) / "state")
        hello = float(run_child("hello").split()[1])
        console = float(run_child("rss", str(args.routes)).split()[1])
        print(
            f"RSS: console with {args.routes:,} routes {console:.0f} MB (Textual hello-world {hello:.0f} MB)"
        )
        print("     goal < 150 MB")

        sys.path.insert(0, str(ROOT))
        from connectors.demo.runner import DemoOptions, DemoRunner

        runner = DemoRunner(DemoOptions(state_dir=Path(tmp) / "demo", traffic=False))
        ctx = runner.start()
        try:
            _, cpu, wall, polls = run_child("idle", str(ctx.state_dir), str(args.idle_seconds)).split()
        finally:
            runner.stop()
        share = 100 * float(cpu) / float(wall)
        print(
            f"Idle CPU: {share:.2f} % of one core over {float(wall):.0f} s with a 1 s live refresh "
            f"({polls} polls of health, routes and Envoy's metrics; demo gateway, no traffic)"
        )
        print("     goal < 3 %")


if __name__ == "__main__":
    main()
