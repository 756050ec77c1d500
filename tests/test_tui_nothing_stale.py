"""Nothing stale (issue 11, item 5), as the operator sees it at 160x45 and 100x30.

A probe result the apply invalidated is cleared; history opens on the newest change, says what each
undo undid and labels canary events; "watching ..." goes once a canary is over; CORS plans name the
origins and fields that change; the header shows where the gateway listens; a gateway started with
its own state directory is found by ``gateways`` and the Connect screen.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from connectors.base import describe_change
from connectors.change import Change
from connectors.history import HistoryEntry
from connectors.model import Cors, Route, StringMatch, WeightedBackend, route_to_dict
from connectors.native import NativeConnector
from connectors.native.factory import NativeFactory, start
from tests.native_support import DemoBackends, JwtSigner, write_native_config
from tests.test_tui_support import StaticConnector, sample_routes, visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.cli.entry import main
from tui.screens.canary import CanaryConfirm, CanaryScreen, log_line
from tui.screens.connect import ConnectScreen
from tui.screens.diff import DiffScreen
from tui.screens.edit_cors import CorsEditor
from tui.screens.history import HistoryScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


async def _connected(pilot: Pilot[None]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    return app


# -- CORS: what the plan says, and the probe after the apply --------------------------------------


def test_cors_descriptions_name_the_origins_and_fields_that_change() -> None:
    before = Route(
        "api-cors",
        (WeightedBackend("v1", 100),),
        cors=Cors(
            (StringMatch("exact", "https://a.example"), StringMatch("prefix", "http://localhost:")), ("GET",)
        ),
    )
    assert describe_change(
        before,
        replace(
            before,
            cors=Cors(
                (StringMatch("exact", "https://a.example"), StringMatch("exact", "https://b.example")),
                ("GET", "POST"),
                max_age=600,
            ),
        ),
    ) == (
        "api-cors: CORS origins +https://b.example -http://localhost:*; "
        "methods GET→GET, POST; max age none→10m"
    )
    assert describe_change(before, replace(before, cors=None)) == "api-cors: CORS removed (2 origins)"
    added = describe_change(replace(before, cors=None), before)
    assert added == "api-cors: CORS added: origins https://a.example, http://localhost:*; methods GET"


@pytest.mark.parametrize("size", SIZES)
async def test_a_probe_result_the_apply_invalidated_is_cleared(
    size: tuple[int, int], native_gateway: NativeConnector
) -> None:
    gw = native_gateway
    origin = "https://new.example"
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        await pilot.press("slash", *"^cors$", "enter", "c")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CorsEditor))
        form = app.screen
        assert isinstance(form, CorsEditor)
        await wait_until_ui(pilot, lambda: bool(form.query_one("#probe-url", Input).value))
        form.query_one("#probe-origin", Input).value = origin
        form.action_probe()
        result = form.query_one("#probe-result", Static)
        await wait_until_ui(pilot, lambda: "NOT allowed" in str(result.render()), what="the refusal")

        box = form.query_one("#origins", TextArea)
        box.focus()
        await pilot.press("enter", *origin, "ctrl+s")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        assert f"origins +{origin}" in str(diff.query_one("#description", Static).render())
        await pilot.press("a")
        await wait_until_ui(pilot, lambda: diff.result is not None, what="the apply")
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: app.screen is form)
        shown = str(result.render())
        assert "NOT allowed" not in shown, "the refusal was about the policy before the apply"
        assert "probe again" in shown


# -- history --------------------------------------------------------------------------------------


def _apply_weights(connector: StaticConnector, v1: int, v2: int) -> None:
    route = connector.get_route("shop")
    edited = replace(route, backends=(WeightedBackend("v1", v1), WeightedBackend("v2", v2)))
    Change(connector).apply(Change(connector).plan_edit("weights", route, edited))


@pytest.mark.parametrize("size", SIZES)
async def test_history_opens_on_the_newest_and_says_what_undo_undid(
    size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    connector = StaticConnector(sample_routes())
    _apply_weights(connector, 50, 50)
    first = connector.history()[-1]
    app = ConsoleApp(connector)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        await pilot.press("colon", *"history", "enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HistoryScreen) and bool(app.screen.entries))
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await pilot.press("colon", *"routes", "enter")
        await pilot.pause()

        # Two more changes while the history view sits in the background: an edit, then its undo.
        _apply_weights(connector, 0, 100)
        time.sleep(0.01)
        Change(connector).apply(Change(connector).plan_undo())
        undo = connector.history()[-1]
        await pilot.press("colon", *"history", "enter")
        await wait_until_ui(pilot, lambda: len(history.entries) == 3, what="the three changes")
        assert history.selected_entry() == undo, "the cursor starts on the newest change"
        shown = visible_text(app)
        undo_row = next(line for line in shown.splitlines() if " undo " in line)
        assert f"undid {history.entries[1].id[:8]}" in undo_row
        assert "v1 0→50" in undo_row or "v1 0→50" in shown
        assert first.id not in undo_row


@pytest.mark.parametrize("size", SIZES)
async def test_canary_events_are_labelled_in_history(size: tuple[int, int]) -> None:
    connector = StaticConnector(sample_routes())
    route = route_to_dict(connector.get_route("shop"))
    entry = HistoryEntry(
        id="c0ffee000001",
        time=time.time(),
        user="operator",
        gateway="static:fixture",
        routes=("shop",),
        description="shop: weights v1 90→75, v2 10→25",
        before=(route,),
        after=(route,),
    )
    labelled = {**entry.to_json(), "kind": "canary", "event": "step"}
    known = set(HistoryEntry.__dataclass_fields__)
    # The engine's entries carry kind/event; without those fields an entry shows its action.
    entry = HistoryEntry.from_json(labelled) if "kind" in known else replace(entry, action="canary step")
    assert connector.history_store is not None
    connector.history_store.append(entry)
    app = ConsoleApp(connector)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        await pilot.press("colon", *"history", "enter")
        await wait_until_ui(pilot, lambda: "canary step" in visible_text(app), what="the canary label")


def test_canary_log_lines_say_each_word_once() -> None:
    from connectors.canary import CanaryEvent

    held = CanaryEvent("held", "held", 0, 1, "held at 1%: not enough canary traffic")
    assert str(log_line(held)).split() == ["held", "at", "1%:", "not", "enough", "canary", "traffic"]
    aborted = CanaryEvent("aborted", "aborted", 1, 0, "aborted: all traffic on v1 (operator)")
    assert "aborted aborted" not in str(log_line(aborted))


@pytest.mark.parametrize("size", SIZES)
async def test_watching_is_cleared_after_an_abort(
    size: tuple[int, int], shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        await wait_until_ui(pilot, lambda: app.metrics_source is not None)
        app.run_console_command("canary canary")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen) and bool(app.screen.canary))
        screen = app.screen
        assert isinstance(screen, CanaryScreen)
        screen.query_one("#steps", Input).value = "20, 100"
        screen.query_one("#pause", Input).value = "600"
        await pilot.press("s")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryConfirm), what="the confirmation")
        await pilot.press("s")
        status = screen.query_one("#run-status", Static)
        # The live line of the step being watched: "step 1/2 at 20%: 3 of 20 canary requests, ..."
        watching = "step 1/2 at 20%"
        await wait_until_ui(pilot, lambda: watching in str(status.render()), seconds=30, what="the step")
        await pilot.press("a")
        await wait_until_ui(pilot, lambda: screen.state == "aborted", seconds=30, what="the abort")
        await pilot.pause()
        assert watching not in str(status.render()) and "canary requests" not in str(status.render())


# -- where the gateway is -------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_the_header_shows_the_listener_url(
    size: tuple[int, int], native_gateway: NativeConnector
) -> None:
    app = ConsoleApp(native_gateway)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        await pilot.pause()
        header = visible_text(app).splitlines()[0]
        assert native_gateway.listener_url() in header


@pytest.mark.parametrize("size", SIZES)
async def test_a_gateway_started_with_its_own_state_dir_is_found(
    size: tuple[int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backends: DemoBackends,
    jwt_signer: JwtSigner,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    config = write_native_config(tmp_path / "cfg", backends, jwt_signer, name="elsewhere")
    gateway = start(config, tmp_path / "my-demo", owned=True)
    try:
        found = [t.location for t in NativeFactory().discover()]
        assert str(tmp_path / "my-demo") in found
        index = next((tmp_path / "state").glob("*index*"))
        assert stat.S_IMODE(os.stat(index).st_mode) == 0o600

        capsys.readouterr()
        assert main(["gateways", "-o", "json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [(g["name"], g["status"]) for g in listed] == [("my-demo", "running")]

        app = ConsoleApp()
        async with app.run_test(size=size) as pilot:
            await wait_until_ui(pilot, lambda: isinstance(app.screen, ConnectScreen))
            await wait_until_ui(pilot, lambda: "elsewhere" in visible_text(app), what="the gateway listed")
    finally:
        gateway.close()
        gateway.stop()
