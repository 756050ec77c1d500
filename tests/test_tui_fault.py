"""The console's fault form (``f``), driven with Pilot against a real native gateway: a bad status is
shown by its field with Apply disabled; a 100% abort 503 goes through the diff and clients get 503."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input

from connectors.http_client import http_client
from connectors.native import NativeConnector
from tests.native_support import backends, jwt_signer, native_config, native_gateway  # noqa: F401
from tests.test_tui_stories import SIZE, filter_to, open_console, review_and_apply, settle
from tui.app import ConsoleApp
from tui.screens.edit_base import FieldError
from tui.screens.edit_fault import FaultEditor


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config-dir"))


async def test_fault_form_refuses_a_bad_status_then_an_abort_answers_clients_503(
    native_gateway: NativeConnector,  # noqa: F811
) -> None:
    gw = native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "^host-v1$")
        await pilot.press("f")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FaultEditor)
        await pilot.click("#mode-on")
        field = form.query_one("#abort-status", Input)
        field.focus()
        await pilot.press("7", "0", "0")
        await pilot.pause()
        error = form.query_one("#error-abort_status", FieldError)
        assert "must be an HTTP status 200-599, got 700" in str(error.render())
        assert form.query_one("#apply", Button).disabled

        field.clear()
        await pilot.press("5", "0", "3")
        await pilot.pause()
        assert not form.query_one("#apply", Button).disabled
        diff = await review_and_apply(pilot)
        assert diff.plan.description == "host-v1: fault none→abort 503 on 100%"
        await pilot.press("escape")
        await settle(pilot)

    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        assert [client.get("/", headers={"host": "v1.test"}).status_code for _ in range(3)] == [503] * 3
        assert client.get("/", headers={"host": "v2.test"}).status_code == 200
