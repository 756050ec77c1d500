"""``python -m tui.screenshots``: SVG screenshots of the console on the demo gateway.

Starts the demo (two backends, a real Envoy, traffic) in a temporary state directory, drives the
console headless through its main screens — routes, detail, weight edit, diff, the split after the
apply, help, a canary mid-step, triage, plus the routes view in each theme — and writes
``screenshots/<name>.svg``. ``--png DIR`` also converts them with ``rsvg-convert`` for a quick look.
Nothing of the user's own settings or gateways is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from .themes import THEME_ORDER

ROOT = Path(__file__).resolve().parents[1]
SIZE = (140, 40)
Step = Callable[[Pilot[Any]], Awaitable[None]]


async def _settle(pilot: Pilot[Any], seconds: float = 0.0) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(seconds)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def _until_loaded(pilot: Pilot[Any]) -> None:
    app: Any = pilot.app
    for _ in range(200):
        if app.connection.status == "connected" and app.routes_loaded and app.snapshot is not None:
            return
        await pilot.pause(0.1)
    raise RuntimeError("the console did not load the demo gateway")


async def _until(pilot: Pilot[Any], check: Callable[[], bool], what: str, seconds: float = 40.0) -> None:
    for _ in range(int(seconds * 10)):
        if check():
            return
        await pilot.pause(0.1)
    where = pilot.app.save_screenshot("failed.svg", tempfile.gettempdir())
    raise RuntimeError(f"the console never showed {what} (the screen then: {where})")


async def _keys(pilot: Pilot[Any], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await _settle(pilot)


async def _command(pilot: Pilot[Any], text: str) -> None:
    await _keys(pilot, "colon", *("space" if c == " " else c for c in text), "enter")


def _shots(out: Path) -> list[tuple[str, Step]]:
    """The screenshots, in the README's order, each with the keys that bring its screen up.

    Long: one short step per screenshot, kept together so the list reads as the README's gallery."""

    async def routes(pilot: Pilot[Any]) -> None:
        await _settle(pilot, 6.0)  # a few polls, so the live columns have rates and latencies

    async def detail(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "slash", *"^shop$", "enter", "enter")
        await _settle(pilot, 1.5)

    async def weights(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "w", "plus", "plus", "plus", "plus")  # 90/10 → 70/30

    async def diff(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "ctrl+s")

    async def applied(pilot: Pilot[Any]) -> None:
        # The diff's result: applied, verified, and the split since this change with its verdict.
        from .widgets.split_panel import SplitPanel

        await _keys(pilot, "a")

        def judged() -> bool:
            panels = pilot.app.screen.query(SplitPanel)
            return bool(panels) and panels.first().verdict not in (None, "too-few")

        await _until(pilot, judged, "a verdict on the split")
        await _settle(pilot)

    async def split(pilot: Pilot[Any]) -> None:
        # Back on the route's description: the split since that change, per backend.
        from .widgets.split_panel import SplitPanel

        await _keys(pilot, "escape")
        panel = pilot.app.screen.query_one("#split", SplitPanel)
        await _until(pilot, lambda: panel.verdict not in (None, "too-few"), "the split's verdict")
        panel.scroll_visible(animate=False)
        await _settle(pilot)

    async def help_overlay(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "escape", "question_mark")

    async def history(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "escape")
        await _command(pilot, "history")
        await _settle(pilot, 1.0)

    async def canary(pilot: Pilot[Any]) -> None:
        # A run mid-step: its live progress, the split since the step, the step's diff in the log.
        from .widgets.step_progress import StepProgressView

        await _command(pilot, "canary shop")
        await _until(pilot, lambda: bool(pilot.app.screen.query(StepProgressView)), "the canary view")
        screen = pilot.app.screen
        plan = {"#steps": "50, 75, 100", "#pause": "60", "#min-requests": "30", "#max-wait": "120"}
        for selector, value in plan.items():
            screen.query_one(selector, Input).value = value
        await _settle(pilot, 2.0)
        screen.focus_body()  # type: ignore[attr-defined]
        await _keys(pilot, "s")
        await _until(pilot, lambda: pilot.app.screen is not screen, "the plan's dialog")
        await pilot.press("s")  # not _keys: waiting for every worker would wait for the whole run
        progress = screen.query_one(StepProgressView)
        await _until(pilot, lambda: "of 30 canary requests" in progress.text, "the step's progress")
        await pilot.pause(6.0)

    async def charts(pilot: Pilot[Any]) -> None:
        await pilot.press("escape")  # leaving the canary view stops its run (weights stay)
        await _settle(pilot)
        await _command(pilot, "charts shop")
        await _keys(pilot, "o")
        await _settle(pilot, 4.0)

    async def triage(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "escape")
        await _command(pilot, "triage")
        await _settle(pilot, 2.0)
        await _keys(pilot, "g")  # the clients by the logged user header: the crawler stands out

        def crawler() -> bool:
            view = getattr(pilot.app.screen, "view", None)
            return view is not None and bool(view.clients) and view.clients[0][0] == "crawler-7"

        await _until(pilot, crawler, "the crawler")
        await _settle(pilot, 2.5)  # the "grouped by" toast gone

    async def cors(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "escape")
        await _command(pilot, "routes")
        await _keys(pilot, "slash", *"^api-cors$", "enter", "c")
        await _settle(pilot, 1.0)

    async def quit_question(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "escape", "escape", "q")

    async def back_to_routes(pilot: Pilot[Any]) -> None:
        await _keys(pilot, "n")

    shots: list[tuple[str, Step]] = [
        ("routes", routes),
        ("detail", detail),
        ("weights", weights),
        ("diff", diff),
        ("applied", applied),
        ("split", split),
        ("help", help_overlay),
        ("history", history),
        ("canary", canary),
        ("charts", charts),
        ("triage", triage),
        ("cors", cors),
        ("quit", quit_question),
    ]

    for theme in THEME_ORDER[1:]:

        async def themed(pilot: Pilot[Any], theme: str = theme) -> None:
            if type(pilot.app.screen).__name__ == "ConfirmScreen":  # after the quit question
                await back_to_routes(pilot)
            await _keys(pilot, "escape")
            pilot.app.theme = theme
            await _settle(pilot, 1.0)

        shots.append((f"routes-{theme}", themed))
    return shots


async def _drive(app: Any, out: Path, pilot: Pilot[Any]) -> None:
    await _until_loaded(pilot)
    for name, step in _shots(out):
        await step(pilot)
        app.save_screenshot(f"{name}.svg", str(out))
        print(f"wrote {out / (name + '.svg')}", flush=True)
    app.exit()


def render(out: Path) -> list[Path]:
    from connectors.demo.runner import DemoOptions, DemoRunner

    from .app import ConsoleApp

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gatewayctl-shots-") as tmp:
        os.environ["GATEWAYCTL_STATE_DIR"] = str(Path(tmp) / "state")
        os.environ["GATEWAYCTL_CONFIG_DIR"] = str(Path(tmp) / "config")
        os.environ["GATEWAYCTL_THEME"] = THEME_ORDER[0]
        # Frequent bursts, so the rate-limited route shows its 429s in the pictures.
        options = DemoOptions(state_dir=Path(tmp) / "demo", traffic=True, traffic_rate=20.0, burst_every=2.0)
        runner = DemoRunner(options)
        ctx = runner.start()
        try:
            connector = ctx.connector
            app = ConsoleApp(
                connector,
                stops_on_quit="the demo gateway demo",  # the console adds where Envoy listens
            )

            async def auto_pilot(pilot: Pilot[Any]) -> None:
                await _drive(app, out, pilot)

            asyncio.run(app.run_async(headless=True, size=SIZE, auto_pilot=auto_pilot))
        finally:
            runner.stop()
    return sorted(out.glob("*.svg"))


def to_png(svgs: list[Path], directory: Path) -> list[Path]:
    """PNG copies for a quick look; the SVG's text runs keep their leading spaces (xml:space)."""
    converter = shutil.which("rsvg-convert")
    if converter is None:
        raise SystemExit("rsvg-convert is not installed (Debian: librsvg2-bin)")
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for svg in svgs:
        text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
        png = directory / (svg.stem + ".png")
        subprocess.run([converter, "-o", str(png)], input=text.encode(), check=True)
        out.append(png)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="where the SVGs go")
    parser.add_argument("--png", type=Path, default=None, metavar="DIR", help="also write PNGs to DIR")
    args = parser.parse_args()
    svgs = render(args.out)
    if args.png is not None:
        for png in to_png(svgs, args.png):
            print(f"wrote {png}")


if __name__ == "__main__":
    main()
