"""Filter keystroke → redrawn routes table, with 10,000 routes.

Two figures per keystroke while typing filters into the console's ``/`` prompt:

* work: what one keystroke costs the UI thread — the table re-filtering 10,000 rows and rendering every
  visible line again (``filter_text`` set, then ``render_line`` for each line on screen);
* end to end: the CPU time of Pilot's ``press`` of the key until the app is idle again (the message
  round trip, the prompt, the status line and the screen update), minus the same for a key that
  does nothing, so Pilot's own work is not counted (CPU, not wall time: Pilot also sleeps).

    .venv/bin/python bench/bench_tui_filter.py [--routes 10000]

Goal: < 30 ms per keystroke.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TYPED = ("route-0999", "!route-00", "host1[0-9]\\.example", "^/r9.*5/")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{label:<28} median {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms   "
        f"max {max(ms):6.1f} ms   ({len(ms)} keystrokes)"
    )


async def run(routes: int) -> None:
    from tests.test_tui_support import StaticConnector, many_routes
    from tui.app import ConsoleApp
    from tui.screens.routes import RoutesScreen

    app = ConsoleApp(StaticConnector(many_routes(routes)))
    async with app.run_test(size=(160, 50)) as pilot:
        while not app.routes_loaded:
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RoutesScreen)
        table = screen.table
        height = table.size.height

        work: list[float] = []
        for text in TYPED:
            for end in range(1, len(text) + 1):
                started = time.perf_counter()
                table.filter_text = text[:end]
                for y in range(height):
                    table.render_line(y)
                work.append(time.perf_counter() - started)
        table.filter_text = ""

        # End to end through the prompt, against a key nobody handles.
        baseline: list[float] = []
        for _ in range(20):
            started = time.process_time()
            await pilot.press("f12")
            baseline.append(time.process_time() - started)
        end_to_end: list[float] = []
        for text in TYPED:
            await pilot.press("slash")
            keys = ["exclamation_mark" if c == "!" else c for c in text]
            for key in keys:
                started = time.process_time()
                await pilot.press(key)
                end_to_end.append(time.process_time() - started)
            shown = table.shown_count
            await pilot.press("escape")
            print(f"  /{text:<22} → {shown:>6,} of {table.total_count:,} routes")
        idle = statistics.median(baseline)
        print(summary("work (filter + redraw)", work))
        print(summary("end to end CPU, minus idle", [max(0.0, v - idle) for v in end_to_end]))
        print(
            f"(a key nothing handles costs {idle * 1000:.1f} ms CPU in Pilot's round trip, subtracted above)"
        )
        print("goal: < 30 ms per keystroke")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GATEWAYCTL_CONFIG_DIR"] = str(Path(tmp) / "config")
        os.environ["GATEWAYCTL_STATE_DIR"] = str(Path(tmp) / "state")
        print(f"{args.routes:,} routes")
        asyncio.run(run(args.routes))


if __name__ == "__main__":
    main()
