"""The console's CPU while it sits on one live view (routes, triage, health, charts, time boxes).

Starts the demo gateway (real Envoy, two backends, its light traffic: ~4 req/s with a burst of 429s
every 15 s; three more routes rate limited and two time-boxed changes, so triage and the
time boxes have rows), then for each view a console in its own process (headless, 160x45) on that gateway:
it opens the view, waits a few seconds (metrics source opened, first refreshes shown) and measures
its own CPU time (``resource.getrusage``: every thread of the process, so the fetch workers count
too) over the window. Envoy, the backends and the traffic are other processes and not counted.

    .venv/bin/python bench/bench_console_idle.py [--seconds 30] [--views routes,triage,triage:G,health]

``triage:G``: on the view's last row (``G`` pressed), where the operator watches one route.

Prints, per view, CPU seconds per minute of the console (and as a share of one core) and how many
times the view showed new figures in the window. Lower is better: a console left open all night on
triage should cost its operator next to nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZE = (160, 45)
VIEWS = ("routes", "triage", "health", "charts", "timeboxes")
# ``VIEW:G``: the operator went to the view's last row first (``G``), as one watching a route does.


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(state_dir: str, view: str, seconds: float, warmup: float) -> None:
    sys.path.insert(0, str(ROOT))
    from textual.widgets import DataTable

    from connectors.native import NativeConnector
    from tui.app import ConsoleApp

    name, _, keys = view.partition(":")
    last_row = keys == "G"

    class Measured(ConsoleApp):
        _started = False
        shown = 0
        _cpu = _wall = 0.0
        _shown_at_start = 0

        def watch_routes(self, value: Any) -> None:
            if self.routes_loaded and not self._started:
                self._started = True
                if name != "routes":
                    self.run_console_command(name)
                if last_row:
                    self.set_timer(warmup / 2, lambda: self.simulate_key("G"))
                self.set_timer(0.5, self._count_shows)
                self.set_timer(warmup, self._start)

        def _count_shows(self) -> None:
            screen: Any = self.screen
            if name == "routes":
                self.watch(self, "snapshot", lambda _: self._shown())
                return
            original = screen.show

            def counting(result: Any) -> None:
                original(result)
                self._shown()

            screen.show = counting

        def _shown(self) -> None:
            self.shown += 1

        def _start(self) -> None:
            self._cpu, self._wall, self._shown_at_start = cpu_seconds(), time.monotonic(), self.shown
            self.set_timer(seconds, self._report)

        def _report(self) -> None:
            cpu, wall = cpu_seconds() - self._cpu, time.monotonic() - self._wall
            shown = self.shown - self._shown_at_start
            tables = self.screen.query(DataTable)
            where = f"row {tables.first().cursor_row + 1}/{tables.first().row_count}" if tables else "-"
            print(f"idle {self.screen.__class__.__name__} {cpu:.3f} {wall:.3f} {shown} {where}", flush=True)
            self.exit()

    Measured(NativeConnector.attach(Path(state_dir))).run(headless=True, size=SIZE)


def busier(state_dir: Path) -> None:
    """A few more rows on the views: a rate limit on three more routes (triage) and two time-boxed
    changes (time boxes), through the command line as an operator would."""
    from connectors.native import NativeConnector
    from tui.cli import main as cli

    routes = [r.name for r in NativeConnector.attach(state_dir).list_routes()]
    limited = [name for name in routes if name != "shop"][:3]
    gateway = ["--gateway", str(state_dir)]
    with contextlib.redirect_stdout(io.StringIO()):  # the plans and verifications: not the numbers
        for name in limited:
            assert cli(["set-rate-limit", name, "--requests", "100", *gateway]) == 0
        for name in limited[:2]:
            assert cli(["set-rate-limit", name, "--requests", "90", "--for", "1h", *gateway]) == 0


def run_child(
    state_dir: Path, view: str, seconds: float, warmup: float
) -> tuple[str, float, float, int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["--child", str(state_dir), view, str(seconds), str(warmup)]
    out = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=seconds + warmup + 120,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("idle")]
    if not lines:
        raise SystemExit(f"the console on {view} failed:\n{out.stderr[-2000:]}")
    _, screen, cpu, wall, shown, where = lines[-1].split(maxsplit=5)
    return screen, float(cpu), float(wall), int(shown), where


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per view")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--views", default="routes,triage,triage:G,health,health:G,charts,timeboxes")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child is not None:
        state_dir, view, seconds, warmup = args.child
        child(state_dir, view, float(seconds), float(warmup))
        return
    views = [v for v in args.views.split(",") if v]
    unknown = [v for v in views if v.partition(":")[0] not in VIEWS or v.partition(":")[2] not in ("", "G")]
    if unknown:
        raise SystemExit(f"--views: unknown view {', '.join(unknown)} (one of {', '.join(VIEWS)})")

    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        os.environ["GATEWAYCTL_CONFIG_DIR"] = str(Path(tmp) / "config")
        os.environ["GATEWAYCTL_STATE_DIR"] = str(Path(tmp) / "state")
        sys.path.insert(0, str(ROOT))
        from connectors.demo.runner import DemoOptions, DemoRunner

        runner = DemoRunner(DemoOptions(state_dir=Path(tmp) / "demo", traffic=True))
        ctx = runner.start()
        busier(ctx.state_dir)
        total = 0.0
        try:
            print(f"console idle on a live view, {SIZE[0]}x{SIZE[1]}, demo gateway with light traffic")
            for view in views:
                screen, cpu, wall, shown, where = run_child(ctx.state_dir, view, args.seconds, args.warmup)
                per_min = 60 * cpu / wall
                total += per_min
                print(
                    f"  {view:<11} {per_min:6.2f} CPU-s/min ({100 * cpu / wall:5.1f} % of a core) "
                    f"over {wall:.0f} s, {shown} refreshes shown ({screen}, cursor {where})",
                    flush=True,
                )
        finally:
            runner.stop()
        print(f"  {'sum':<11} {total:6.2f} CPU-s/min")


if __name__ == "__main__":
    main()
