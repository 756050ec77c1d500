"""One canary run per route (issue 11, item 2, found cold): against a real native Envoy with real
traffic, two starts at once make exactly one run; a console already open on ``:canary`` sees a run
going in another process (whose pid, step, since when) and ``s`` refuses in one line; when that
process is killed (-9) the open view offers resume / abort, as a fresh console does, and never
starts over it; the dialog says the weights the gateway serves, not the ones the dead run set."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading

import pytest
from textual.widgets import Static

from connectors.canary import CanaryPlan, CanaryRun
from connectors.canary_state import CanaryBusy, CanaryStateStore
from connectors.metrics import MetricsSource
from connectors.native import NativeConnector
from tests.prometheus_support import Traffic
from tests.test_canary_evidence import source as source  # the fixture
from tests.test_cli_oncall import send
from tests.test_oncall_canary_stale import set_weights_elsewhere, weights
from tests.test_oncall_canary_stories import open_canary
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.canary import CanaryConfirm
from tui.screens.canary_left import LeftOverCanary
from tui.widgets.step_progress import StepProgressView

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


def headless(gw: NativeConnector, *args: str, said: bool = False) -> subprocess.Popen[str]:
    """``gatewayctl-tui canary canary ...`` in another process, as a colleague's shell would;
    ``said``: its output is read (``communicate``)."""
    argv = [sys.executable, "-m", "tui", "canary", "canary", *args, "--gateway", str(gw.state_dir)]
    pipe = subprocess.PIPE if said else subprocess.DEVNULL
    return subprocess.Popen(argv, stdout=pipe, stderr=pipe, text=True)


def test_two_starts_at_once_make_exactly_one_run(
    shared_native_gateway: NativeConnector, restore_canary: None, source: MetricsSource
) -> None:
    gw = shared_native_gateway
    plan = CanaryPlan(steps=(10, 50, 100), pause_s=600)
    runs = [CanaryRun(gw, source, "canary", "v1", "v2", plan, check_every=0.1) for _ in range(2)]
    refused: list[CanaryBusy] = []
    gate = threading.Barrier(2)

    def go(run: CanaryRun) -> None:
        gate.wait()
        try:
            run.run()
        except CanaryBusy as exc:
            refused.append(exc)

    threads = [threading.Thread(target=go, args=(r,)) for r in runs]
    with Traffic(gw.listener_url(), "canary.test", 4):
        for t in threads:
            t.start()
        wait_until(lambda: refused, what="one start refused")
        going = [r for r in runs if r.state == "running"]
        assert len(going) == 1 and len(refused) == 1
        assert "is running in another console or command" in str(refused[0])
        going[0].abort()
        for t in threads:
            t.join(30)
    assert going[0].state == "aborted" and weights(gw) == [100, 0]
    assert CanaryStateStore(gw.info().title).load("canary") is None


@pytest.mark.parametrize("size", SIZES)
async def test_an_open_view_sees_a_run_elsewhere_and_offers_it_when_its_process_dies(
    shared_native_gateway: NativeConnector, restore_canary: None, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    with Traffic(gw.listener_url(), "canary.test", 4):
        async with app.run_test(size=size) as pilot:
            screen = await open_canary(pilot, app)  # console A, open before B starts
            other = headless(gw, "--steps", "30,50,100", "--pause", "10m")
            try:
                store = CanaryStateStore(gw.info().title)
                await wait_until_ui(pilot, lambda: weights(gw) == [70, 30], seconds=30, what="B's step")
                note = screen.query_one(StepProgressView)
                await wait_until_ui(pilot, lambda: "step 1/3 at 30%" in note.text, what="B seen in A")
                assert f"in another console or command (pid {other.pid})" in note.text, note.text
                assert "running elsewhere" in visible_text(app)
                await pilot.press("s")
                await pilot.pause(1.0)
                assert not isinstance(app.screen, CanaryConfirm) and screen.run is None
                error = str(screen.query_one("#plan-error", Static).render())
                busy = "✖ not started here: canary v2 on canary is running in another"
                assert error.startswith(busy), error
                assert "not started here" in visible_text(app)
                live = store.live("canary")
                assert live is not None and live.pid == other.pid
                # Someone moves the weights, then B dies mid-run (kill -9: no chance to clean up).
                await set_weights_elsewhere(gw, "v1=50", "v2=50")
                os.kill(other.pid, signal.SIGKILL)
                await asyncio.to_thread(other.wait, 30)
                await wait_until_ui(
                    pilot, lambda: isinstance(app.screen, LeftOverCanary), seconds=20, what="the offer"
                )
                dialog = app.screen
                choices = str(dialog.query_one("#choices", Static).render()).replace("\n", " ")
                assert "Later leaves it (route canary serves 50/50 (v1/v2) now)." in choices, choices
                await wait_until_ui(pilot, lambda: "left unfinished" in visible_text(app), what="drawn")
                await pilot.press("a")  # abort: all traffic back to stable
                await wait_until_ui(pilot, lambda: weights(gw) == [100, 0], seconds=20, what="the abort")
                assert await asyncio.to_thread(send, gw, "canary.test", 20) == {"v1": 20}
                await wait_until_ui(pilot, lambda: store.load("canary") is None, what="the run's file gone")
            finally:
                if other.poll() is None:
                    other.kill()
                    other.wait(30)


def test_the_headless_canary_refuses_while_a_run_goes_elsewhere(
    shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    gw = shared_native_gateway
    first = headless(gw, "--steps", "30,50,100", "--pause", "10m")
    try:
        store = CanaryStateStore(gw.info().title)
        wait_until(lambda: store.live("canary"), timeout=30, what="the first run")
        second = headless(gw, "--steps", "30,50,100", "--pause", "10m", said=True)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert err.startswith(
            f"error: canary v2 on canary is running in another console or command (pid {first.pid})"
        )
        assert len(err.strip().splitlines()) == 1, err
    finally:
        first.kill()
        first.wait(30)


def test_a_headless_canary_held_by_an_outside_change_exits_1_with_the_next_commands(
    shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    gw = shared_native_gateway
    store = CanaryStateStore(gw.info().title)
    with Traffic(gw.listener_url(), "canary.test", 4):
        run = headless(gw, "--steps", "10,50,100", "--pause", "30s", said=True)
        try:
            wait_until(
                lambda: (s := store.live("canary")) is not None and s.step == 0, timeout=30, what="step 1"
            )
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tui",
                    "set-weights",
                    "canary",
                    "v1=70",
                    "v2=30",
                    *("--gateway", str(gw.state_dir)),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            out, err = run.communicate(timeout=30)  # it ends by itself: nobody can resume it here
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(30)
    assert run.returncode == 1, (out, err)
    assert "held at 30%: the weights of canary were changed outside this canary" in out
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: canary held at 30%: "), err
    assert lines[-1] == "  --resume goes on from 30%; --abort sends all traffic back to v1", err
    assert weights(gw) == [70, 30], "the outside change is kept"
    left = store.left("canary")
    assert left is not None and left.state == "held"


@pytest.mark.parametrize(("signum", "rc"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_headless_canary_stopped_by_a_signal_says_where_and_leaves_the_run(
    shared_native_gateway: NativeConnector, restore_canary: None, signum: int, rc: int
) -> None:
    gw = shared_native_gateway
    store = CanaryStateStore(gw.info().title)
    with Traffic(gw.listener_url(), "canary.test", 4):
        run = headless(gw, "--steps", "10,50,100", "--pause", "30s", said=True)
        try:
            wait_until(
                lambda: (s := store.live("canary")) is not None and s.step == 0, timeout=30, what="step 1"
            )
            run.send_signal(signum)
            _, err = run.communicate(timeout=30)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(30)
    assert run.returncode == rc, err
    assert (
        err.strip().splitlines()[-1] == "interrupted at step 1/3 (10%); the run is left: --resume / --abort"
    )
    assert "Traceback" not in err
    left = store.left("canary")
    assert left is not None and left.step == 0 and weights(gw) == [90, 10]


@pytest.mark.parametrize("pause", [["--pause", "-3s"], ["--pause=-3s"]])
def test_a_negative_pause_is_one_line_naming_the_flag(
    shared_native_gateway: NativeConnector, pause: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    gw = shared_native_gateway
    before = gw.get_route("canary")
    capsys.readouterr()
    rc = main(["canary", "canary", *pause, "--gateway", str(gw.state_dir)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines() == [
        "error: usage: --pause: must be a positive duration, got -3s (see gatewayctl-tui --help)"
    ], err
    assert gw.get_route("canary") == before and CanaryStateStore(gw.info().title).load("canary") is None
