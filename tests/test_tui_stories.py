"""Operator stories, driven through the console with Pilot against a real native gateway.

Each test opens the console on a real Envoy (``native_gateway``: a fresh gateway in front of two demo
backends), does what an operator does with the keyboard, and checks what the operator sees and what
real clients get through the gateway afterwards.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static, TextArea

from connectors.http_client import http_client
from connectors.native import NativeConnector
from connectors.paths import state_dir
from tests.native_support import JwtSigner
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.diff import DiffScreen
from tui.screens.edit_base import EditorScreen, FieldError
from tui.screens.edit_cors import CorsEditor
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.edit_weights import WeightsEditor
from tui.screens.help import HelpScreen
from tui.screens.routes import RoutesScreen

SIZE = (150, 48)


def app_of(pilot: Pilot[None]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    return app


async def settle(pilot: Pilot[None]) -> None:
    """Let running workers finish and the screen catch up (no sleeping)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_console(pilot: Pilot[None]) -> None:
    await settle(pilot)
    app = app_of(pilot)
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    await settle(pilot)


async def filter_to(pilot: Pilot[None], text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await pilot.pause()


def split(gw: NativeConnector, host: str, n: int = 200) -> Counter[str]:
    """Which backend answered each of ``n`` real requests through the gateway."""
    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        return Counter(
            client.get("/", headers={"host": host}).headers.get("x-backend", "?") for _ in range(n)
        )


def preflight(gw: NativeConnector, origin: str) -> httpx.Response:
    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        return client.options(
            "/", headers={"host": "cors.test", "origin": origin, "access-control-request-method": "GET"}
        )


async def review_and_apply(pilot: Pilot[None]) -> DiffScreen:
    """ctrl+s in a form opens the diff; ``a`` applies; returns the dialog showing the outcome."""
    await pilot.press("ctrl+s")
    await settle(pilot)
    diff = pilot.app.screen
    assert isinstance(diff, DiffScreen), f"expected the diff, got {diff!r}: {getattr(diff, 'problems', '')}"
    await pilot.press("a")
    await settle(pilot)
    return diff


async def test_canary_shift_applies_follows_traffic_and_undoes(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    assert split(gw, "canary.test")["v1"] > 150  # 90/10 to start with
    app = ConsoleApp(gw)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "canary")
        routes = app.screen
        assert isinstance(routes, RoutesScreen)
        assert routes.table.shown_keys == ["canary"]

        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, WeightsEditor)
        await pilot.click("#preset-50-50")
        await pilot.pause()
        assert app.screen.query_one("#weight-0", Input).value == "50"

        await pilot.press("ctrl+s")
        await settle(pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        lines = diff.plan.model_diff.splitlines()
        assert any(line.startswith("-") and "weight: 90" in line for line in lines)
        assert any(line.startswith("+") and "weight: 50" in line for line in lines)
        assert "weight: 50" in str(diff.query_one("#model-diff", Static).render()), "the operator sees it"
        assert diff.plan.native_changes, "the diff shows the Envoy objects that change"
        assert split(gw, "canary.test", 50)["v1"] > 30, "nothing is applied before the diff is confirmed"

        await pilot.press("a")
        await settle(pilot)
        outcome = str(diff.query_one("#outcome", Static).render())
        assert "Applied and verified" in outcome
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RoutesScreen), "the form closes once the change is applied"

        after = split(gw, "canary.test")
        assert 60 <= after["v1"] <= 140 and 60 <= after["v2"] <= 140, after

        # u undoes it, through its own diff.
        await pilot.press("u")
        await settle(pilot)
        undo = app.screen
        assert isinstance(undo, DiffScreen) and undo.plan.undoes
        restored = undo.plan.changes[0].after
        assert [(b.name, b.weight) for b in restored.backends] == [("v1", 90), ("v2", 10)]
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert split(gw, "canary.test")["v1"] > 150

    # Both went through Change(connector).apply(): the audit log has them, with no secrets.
    audit: list[dict[str, Any]] = [
        json.loads(line) for line in (state_dir() / "audit.jsonl").read_text().splitlines()
    ]
    assert [(line["action"], line["routes"]) for line in audit[-2:]] == [
        ("apply", ["canary"]),
        ("undo", ["canary"]),
    ]
    assert all(line["verified"] for line in audit[-2:])


async def test_rate_limit_of_five_per_minute_brings_429s(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "^host-v1$")
        await pilot.press("r")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RateLimitEditor)
        await pilot.click("#mode-on")
        for widget_id, text in (("requests", "5"), ("interval", "1m")):
            field = form.query_one(f"#{widget_id}", Input)
            field.focus()
            field.clear()
            await pilot.press(*text)
        await pilot.pause()
        assert not form.query_one("#apply", Button).disabled
        diff = await review_and_apply(pilot)
        assert "rate limit none→5/1m" in diff.plan.description
        await pilot.press("escape")
        await settle(pilot)

    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        answers = [client.get("/", headers={"host": "v1.test"}) for _ in range(8)]
    assert [r.status_code for r in answers[:5]] == [200] * 5
    assert [r.status_code for r in answers[5:]] == [429] * 3
    assert "local_rate_limited" in answers[-1].text


async def test_cors_origin_added_preflight_and_probe(
    native_gateway: NativeConnector, jwt_signer: JwtSigner
) -> None:
    gw = native_gateway
    new_origin = "https://new.example"
    assert "access-control-allow-origin" not in preflight(gw, new_origin).headers
    app = ConsoleApp(gw)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "^cors$")
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CorsEditor)
        origins = form.query_one("#origins", TextArea)
        origins.focus()
        await pilot.press("down", "down", "end", "enter", *new_origin)
        await pilot.pause()
        diff = await review_and_apply(pilot)
        assert any(line.startswith("+") and new_origin in line for line in diff.plan.model_diff.splitlines())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CorsEditor), "the CORS form stays open to probe the change"

        # The real preflight now allows the new origin.
        assert preflight(gw, new_origin).headers.get("access-control-allow-origin") == new_origin

        # The probe, from the form: allowed origin, answered by the CORS policy then the backend.
        probe_origin = form.query_one("#probe-origin", Input)
        probe_origin.value = new_origin
        url = form.query_one("#probe-url", Input)
        if not url.value:  # the connector does not say where clients reach it: the operator types it
            url.value = gw.listener_url()
        assert form.query_one("#probe-host", Input).value in ("", "cors.test")
        token = jwt_signer.token("mallory")
        form.query_one("#probe-token", Input).value = token
        await pilot.click("#probe")
        result = form.query_one("#probe-result", Static)

        def answered(origin: str) -> bool:  # "probing ... with Origin <origin>…" comes first
            text = str(result.render())
            return origin in text and not text.startswith("probing")

        await wait_until_ui(
            pilot,
            lambda: answered(f"Origin {new_origin}"),
            seconds=45,
            what=f"the probe's answer (now {str(result.render())!r})",
        )
        text = str(result.render())
        assert f"Origin {new_origin} is allowed" in text
        assert "answered by the gateway's CORS policy" in text
        assert "answered by the backend v1" in text
        assert token not in app.export_screenshot(), "a token never reaches a screenshot"

        # A refused origin: the preflight passes through to the backend without CORS headers.
        probe_origin.value = "https://evil.example"
        # The first answer is long: the button may be scrolled out of view, so press it, not click.
        form.query_one("#probe", Button).press()
        await wait_until_ui(pilot, lambda: answered("https://evil.example"), seconds=45)
        text = str(result.render())
        assert "https://evil.example is NOT allowed" in text
        assert "went through to the backend" in text

    audit = (state_dir() / "audit.jsonl").read_text()
    assert new_origin in audit and token not in audit and "eyJ" not in audit


async def test_readonly_refuses_edits_with_the_reason(native_gateway: NativeConnector) -> None:
    app = ConsoleApp(native_gateway, readonly=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        assert "READ-ONLY" in visible_text(app)
        for key in ("w", "r", "c", "e", "u"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, RoutesScreen), f"{key} opened {app.screen!r} in read-only mode"
            assert "read-only mode" in visible_text(app), f"{key}: the refusal says why"
    assert native_gateway.history() == []


async def test_a_regex_envoy_would_refuse_is_refused_in_the_form(
    native_gateway: NativeConnector,
) -> None:
    app = ConsoleApp(native_gateway)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "^cors$")
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CorsEditor)
        # Valid for Python's re but not for Envoy's RE2: refused by the field, before any apply.
        form.query_one("#origins", TextArea).text = "https://app.example\n~https://(?=a)b"
        await wait_until_ui(pilot, lambda: form.query_one("#apply", Button).disabled)
        error = form.query_one("#error-origins", FieldError)
        await wait_until_ui(pilot, lambda: bool(str(error.render())))
        shown = str(error.render())
        assert "line 2" in shown, f"the field names the line Envoy would refuse: {shown!r}"
    assert native_gateway.history() == []


async def test_rejected_apply_shows_envoys_reason_and_keeps_the_config(
    native_gateway: NativeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rule of Envoy's that the tool's own checks miss: switch the regex check off so the change
    # reaches Envoy, which must refuse it with its reason while the old config keeps serving.
    monkeypatch.setattr("connectors.model.validate.regex_problem", lambda pattern: None)
    monkeypatch.setattr("connectors.native.connector.validate_change", lambda old, new: None)
    gw = native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "^cors$")
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CorsEditor)
        form.query_one("#origins", TextArea).text = "https://app.example\n~https://(?=a)b"
        await wait_until_ui(pilot, lambda: not form.query_one("#apply", Button).disabled)
        diff = await review_and_apply(pilot)
        outcome = str(diff.query_one("#outcome", Static).render())
        assert "Gateway rejected the change" in outcome
        assert "invalid perl operator" in outcome
        assert "keeps serving its previous config" in outcome
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CorsEditor), "the form keeps the edit after a rejection"
        assert "(?=a)" in form.query_one("#origins", TextArea).text
    assert (
        preflight(gw, "https://app.example").headers.get("access-control-allow-origin")
        == "https://app.example"
    )
    assert gw.history() == []


async def test_invalid_input_is_shown_by_the_field_and_keeps_apply_disabled(
    native_gateway: NativeConnector,
) -> None:
    app = ConsoleApp(native_gateway)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "^canary$")

        await pilot.press("w")
        await pilot.pause()
        weights = app.screen
        assert isinstance(weights, WeightsEditor)
        first = weights.query_one("#weight-0", Input)
        first.focus()
        first.clear()
        await pilot.press("1", "5", "0")
        await pilot.pause()
        assert "at most 100" in str(weights.query_one("#error-weight-0", FieldError).render())
        assert weights.query_one("#apply", Button).disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is weights, "ctrl+s does not open a diff for invalid input"
        await pilot.press("escape", "y")  # esc on a typed-in form asks; y discards it
        await pilot.pause()

        await pilot.press("r")
        await pilot.pause()
        limit = app.screen
        assert isinstance(limit, RateLimitEditor)
        await pilot.click("#mode-on")
        limit.query_one("#requests", Input).value = "10"
        limit.query_one("#interval", Input).value = "soon"
        await pilot.pause()
        assert "duration" in str(limit.query_one("#error-interval", FieldError).render())
        assert limit.query_one("#apply", Button).disabled
        await pilot.press("escape", "y")
        await pilot.pause()

        await pilot.press("c")
        await pilot.pause()
        cors = app.screen
        assert isinstance(cors, CorsEditor)
        await pilot.click("#enabled")
        cors.query_one("#origins", TextArea).text = "https://ok.example\nftp://files.example"
        await pilot.pause()
        assert "line 2" in str(cors.query_one("#error-origins", FieldError).render())
        assert cors.query_one("#apply", Button).disabled
    assert native_gateway.history() == []


async def test_gateway_going_away_mid_edit_keeps_the_edit(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await filter_to(pilot, "^canary$")
        await pilot.press("w", "minus")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, EditorScreen)
        edited = form.query_one("#weight-1", Input).value
        assert edited == "5"

        gw.stop()
        await wait_until_ui(pilot, lambda: app.connection.status == "lost")
        assert "unreachable" in str(form.query_one("#banner", Static).render())
        assert form.query_one("#apply", Button).disabled
        assert form.query_one("#weight-1", Input).value == edited
        await wait_until_ui(pilot, lambda: "The gateway is unreachable" in visible_text(app))

        gw.restart()
        await wait_until_ui(pilot, lambda: app.connection.status == "connected", seconds=30)
        await pilot.pause()
        assert not form.query_one("#apply", Button).disabled
        assert app.screen is form and form.query_one("#weight-1", Input).value == edited


async def test_connect_screen_lists_the_gateway_and_remembers_it(native_gateway: NativeConnector) -> None:
    app = ConsoleApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert app.current_mode == "connect"
        await wait_until_ui(
            pilot, lambda: "test-gw" in visible_text(app) or bool(app.screen.query("OptionList"))
        )
        await settle(pilot)
        await pilot.press("enter")
        await open_console(pilot)
        assert isinstance(app.screen, RoutesScreen)
        assert app.info is not None and app.info.name == "test-gw"
        assert len(app.routes) == len(native_gateway.list_routes())
    assert app.settings.last_target == f"native:{native_gateway.state_dir}"
    assert ConsoleApp().settings.last_target == app.settings.last_target, "remembered in the settings file"


async def test_views_help_and_theme_are_remembered(native_gateway: NativeConnector) -> None:
    app = ConsoleApp(native_gateway)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_text = visible_text(app)
        for expected in ("Filter", "Describe", "Edit weights", "Sort by name", ":policies"):
            assert expected in help_text
        await pilot.press("escape", "colon", *"pol", "enter")
        await settle(pilot)
        assert app.current_mode == "policies"
        assert "ratelimit" in " ".join(app.screen.query_one("#policies").shown_keys)  # type: ignore[attr-defined]
        await pilot.press("colon", *"gw", "enter")
        await settle(pilot)
        assert app.current_mode == "connect" and "test-gw" in visible_text(app)
        await pilot.press("colon", *"routes", "enter", "ctrl+t")
        await settle(pilot)
        assert app.current_mode == "routes" and app.theme == "light"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Edit weights of host-v1" in titles and "Theme: high-contrast" in titles
    again = ConsoleApp(native_gateway)
    assert again.theme == "light"


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings and state never touch the user's real directories (native_gateway sets them too)."""
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config-dir"))
