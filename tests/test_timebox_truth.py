"""Time boxes never promise what nothing will keep (issue 13): with the demo's reverter killed,
``:timeboxes`` says nothing is running to carry out the revert and names the fix, and a box past
its time says "overdue"; ``revert-expired`` names every box that needs a decision each time it
runs (exit 1) until the operator dismisses it. Real native gateway, real reverter process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from textual.widgets import DataTable, Static

from connectors.native import NativeConnector
from connectors.native.reverter import LOG_FILE, NO_REVERTER, start_detached, stop_detached
from tests.test_native_supervisor import _alive
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.timeboxes import TimeboxesScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


@pytest.fixture
def gw(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield native_gateway
    stop_detached(native_gateway.state_dir)


def cli(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def _past_due(gw: NativeConnector) -> None:
    boxes = gw.change_hooks().reverts.boxes()
    wait_until(lambda: all(b.due <= time.time() for b in boxes), 5, what="the time box to end")


def _kill_reverter(gw: NativeConnector) -> None:
    pid = start_detached(gw.state_dir)  # as the demo does
    wait_until(lambda: "carries out" in (gw.state_dir / LOG_FILE).read_text(), what="the reverter to start")
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not _alive(pid), what="the reverter to die")


@pytest.mark.parametrize("size", SIZES)
async def test_timeboxes_view_says_nothing_will_revert_and_overdue(
    gw: NativeConnector, size: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _kill_reverter(gw)
    rc, _, err = cli(gw, capsys, "deny", "canary", "--client", "x-user-id=crawler-7", "--for", "1s")
    assert rc == 0 and NO_REVERTER in err
    _past_due(gw)
    capsys.readouterr()
    assert main(["gateways", "-o", "json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["state"] == "running" and listed["warning"] == NO_REVERTER
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
        app.run_console_command("timeboxes")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TimeboxesScreen))
        screen = app.screen
        await wait_until_ui(pilot, lambda: bool(screen.query("#boxes")), what="the table")
        table = screen.query_one("#boxes", DataTable)
        await wait_until_ui(pilot, lambda: table.row_count == 1, what="the time box")
        row = [str(c) for c in table.get_row_at(0)]
        assert row[2].startswith("overdue by ") and row[3] == "pending"
        assert row[5] == NO_REVERTER, "the note says nothing will revert it"
        warning = str(screen.query_one("#boxes-warning", Static).render())
        assert "Nothing is running to carry out" in warning and "gatewayctl-tui revert-expired" in warning
        # The table's rows are in; the screen shows them once the table has laid out its columns.
        await wait_until_ui(pilot, lambda: "overdue by " in visible_text(app), what="the row on screen")
        text = visible_text(app)
        assert "overdue by " in text and "1 overdue" in text
        assert "Nothing is running to carry out" in text and "revert-expired" in text

        # Run by hand, as the warning says (another process: the console holds this one's stdout):
        # the box is reverted and the warning goes.
        done = subprocess.run(
            [sys.executable, "-m", "tui", "revert-expired", "--gateway", str(gw.state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0 and done.stdout.startswith("Reverted "), done.stderr
        await wait_until_ui(pilot, lambda: str(table.get_row_at(0)[3]) == "reverted", what="the revert")
        await wait_until_ui(pilot, lambda: "Nothing is running" not in visible_text(app))


def test_revert_expired_names_the_boxes_that_need_a_decision_until_dismissed(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(gw, capsys, "deny", "canary", "--client", "x-user-id=a", "--for", "1s")
    assert rc == 0, err
    (box,) = gw.change_hooks().reverts.boxes()
    rc, _, err = cli(gw, capsys, "deny", "canary", "--client", "ip=203.0.113.0/24")
    assert rc == 0, err
    _past_due(gw)
    rc, out, _ = cli(gw, capsys, "revert-expired")
    assert rc == 1 and f"NEEDS A DECISION: {box.id}" in out
    for _ in range(2):  # decided once, not tried again — but said every time, and exit 1
        rc, out, _ = cli(gw, capsys, "revert-expired")
        assert rc == 1 and "Nothing due." not in out
        assert f"NEEDS A DECISION: {box.id}" in out and "deny rules of route canary changed" in out
        assert f"gatewayctl-tui revert-expired --dismiss {box.id}" in out
    rc, out, _ = cli(gw, capsys, "revert-expired", "-o", "json")
    assert rc == 1 and '"needs-decision"' in out

    rc, out, err = cli(gw, capsys, "revert-expired", "--dismiss", "nope")
    assert rc == 1 and err.startswith("error: ") and err.count("\n") == 1
    rc, out, _ = cli(gw, capsys, "revert-expired", "--dismiss", box.id)
    assert rc == 0 and out.startswith(f"Dismissed {box.id} ")
    deny = gw.gateway().route("canary").deny
    assert deny is not None and len(deny.clients) == 2  # nothing changed: the operator decided so
    rc, out, _ = cli(gw, capsys, "revert-expired")
    assert rc == 0 and out.strip() == "Nothing due."
    rc, out, _ = cli(gw, capsys, "revert-expired", "--list")
    assert "dismissed" in out
