"""Console start-up: process start → first interactive frame, with 10 and 10,000 routes.

Each run is a fresh Python process (the script itself in ``--child`` mode) started from the parent,
which times from ``Popen`` to the child's ``frame`` line (Textual's Ready event: the first frame is
on screen and keys are accepted) and to its ``rows`` line (the routes table holds every route: rows
are filled by a worker after the first frame, so 10,000 routes do not delay it). The same is done
for a bare Textual hello-world in the same run, and the console's figures are printed as a ratio
to it. The gateway is the in-memory test connector, handed over as an opener the way the CLI hands
over a gateway: it is imported and its routes are built in the console's worker, after the first frame.

    .venv/bin/python bench/bench_tui_startup.py [--runs 7] [--sizes 10,10000]

Goals: ≤ 1.3x hello-world with 10 routes; < 0.8 s to the first frame with 10,000.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HEADLESS_SIZE = (140, 40)


def child_hello() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Hello(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("Hello, world")

        def on_ready(self) -> None:
            print(f"frame {time.process_time()}", flush=True)
            print("rows", flush=True)
            self.exit()

    Hello().run(headless=True, size=HEADLESS_SIZE)


def open_connector(routes: int) -> Any:
    """The in-memory test connector with ``routes`` routes, opened like the CLI opens a gateway: in the
    console's worker, after its first frame (its imports and the routes it builds are that worker's)."""
    from tests.test_tui_support import StaticConnector, many_routes

    return StaticConnector(many_routes(routes))


def child_console(routes: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tui.app import ConsoleApp

    class Timed(ConsoleApp):
        def on_ready(self) -> None:
            print(f"frame {time.process_time()}", flush=True)
            super().on_ready()

        def watch_routes(self, value: Any) -> None:
            if self.routes_loaded and len(value) == routes:
                self.call_after_refresh(self._rows_drawn)

        def _rows_drawn(self) -> None:
            print("rows", flush=True)
            self.exit()

    Timed(opener=partial(open_connector, routes)).run(headless=True, size=HEADLESS_SIZE)


PYC_CACHE = tempfile.mkdtemp(prefix="bench-tui-pyc-")


def run_child(args: list[str]) -> tuple[float, float, float]:
    """Seconds from process start to the first frame and to the filled table, and the CPU seconds
    the child had used by its first frame (less sensitive to other load on the machine)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Like an installed package: compiled bytecode is cached (this machine sets PYTHONDONTWRITEBYTECODE,
    # which would make every run recompile the project). The cache lives outside the repository.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYC_CACHE
    with tempfile.TemporaryDirectory() as tmp:
        env["GATEWAYCTL_CONFIG_DIR"] = str(Path(tmp) / "config")
        env["GATEWAYCTL_STATE_DIR"] = str(Path(tmp) / "state")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        marks: dict[str, float] = {}
        cpu = 0.0
        for line in proc.stdout:
            word, _, value = line.strip().partition(" ")
            marks[word] = time.perf_counter() - started
            if word == "frame":
                cpu = float(value)
            if "rows" in marks:
                break
        proc.wait(timeout=60)
    if "frame" not in marks or "rows" not in marks:
        raise SystemExit(f"child {args} did not report its frame (exit code {proc.returncode})")
    return marks["frame"], marks["rows"], cpu


def measure(kinds: list[list[str]], runs: int) -> list[tuple[float, float, float]]:
    """Medians of (first frame, table filled, CPU to first frame) per kind; the kinds take turns,
    so load from anything else on the machine falls on all of them alike."""
    for args in kinds:
        run_child(args)  # warm the OS file cache and compile the .pyc files
    results: list[list[tuple[float, float, float]]] = [[] for _ in kinds]
    for _ in range(runs):
        for i, args in enumerate(kinds):
            results[i].append(run_child(args))
    return [tuple(statistics.median(column) for column in zip(*runs_of, strict=True)) for runs_of in results]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="10,10000")
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child is not None:
        if args.child[0] == "hello":
            child_hello()
        else:
            child_console(int(args.child[1]))
        return

    sizes = [int(x) for x in args.sizes.split(",")]
    (hello_frame, _, hello_cpu), *console = measure(
        [["hello"]] + [["console", str(n)] for n in sizes], args.runs
    )
    print(
        f"Textual hello-world: first frame {hello_frame * 1000:.0f} ms, {hello_cpu * 1000:.0f} ms CPU "
        f"(medians of {args.runs})"
    )
    header = ("routes", "first frame", "x hello", "CPU", "x hello", "table filled")
    print("{:>8}  {:>12}  {:>8}  {:>8}  {:>8}  {:>13}".format(*header))
    for size, (frame, rows, cpu) in zip(sizes, console, strict=True):
        print(
            f"{size:>8,}  {frame * 1000:>9.0f} ms  {frame / hello_frame:>7.2f}x  {cpu * 1000:>5.0f} ms"
            f"  {cpu / hello_cpu:>7.2f}x  {rows * 1000:>10.0f} ms"
        )
    print("goals: ≤ 1.30x hello-world with 10 routes; first frame < 800 ms with 10,000 routes")
    shutil.rmtree(PYC_CACHE, ignore_errors=True)


if __name__ == "__main__":
    main()
