"""The edit forms while someone else changes the route (issue 11, "Nothing stale"), at 160x45 and
100x30, on a real native Envoy changed by the headless commands:

- a form open on a route notices when the aspect it edits changed outside (at the console's next
  refresh), says so in one line (``changed outside to … at 14:41 — ctrl+r to start from it``) and no
  longer calls the old value "now";
- after ``ctrl+r`` every field and every label reflects the new base (the weights' "was 90" too);
- the CORS form's on/off switches are readable without colour (NO_COLOR): a word, not a colour.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input, RadioSet, Switch

from connectors.change import Change
from connectors.native import NativeConnector
from tests.test_tui_cold_fit import flat, region_text
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.cli.entry import main
from tui.screens.diff import DiffScreen
from tui.screens.edit_base import EditorScreen
from tui.screens.edit_cors import CorsEditor
from tui.screens.edit_fault import FaultEditor
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.edit_weights import WeightsEditor
from tui.screens.routes import RoutesScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
OUTSIDE = re.compile(r"changed outside to (.+) at \d\d:\d\d — ctrl\+r to start from it")


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    """The shared gateway, its routes put back after the test (the CLI changes them)."""
    gateway = shared_native_gateway
    before = gateway.list_routes()
    yield gateway
    changed = [r for r in before if r != gateway.get_route(r.name)]
    if changed:
        Change(gateway).apply(gateway.plan(changed))


async def _form(pilot: Pilot[None], key: str, route: str) -> EditorScreen:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    await pilot.press("slash", *f"^{route}$", "enter", key)
    await wait_until_ui(pilot, lambda: isinstance(app.screen, EditorScreen), what="the form")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, EditorScreen)
    return form


async def _cli(gw: NativeConnector, *args: str) -> None:
    """A colleague's headless command, in its own thread (the console keeps running meanwhile)."""
    assert await asyncio.to_thread(main, [*args, "--gateway", str(gw.state_dir)]) == 0


def _shown(app: ConsoleApp) -> str:
    return flat(visible_text(app))


@pytest.mark.parametrize("size", SIZES)
async def test_the_weights_form_says_they_changed_outside_and_ctrl_r_starts_from_them(
    gw: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        form = await _form(pilot, "w", "canary")
        assert isinstance(form, WeightsEditor)
        assert "now: v1 90% v2 10%" in _shown(app)
        await _cli(gw, "set-weights", "canary", "v1=70", "v2=30")
        await wait_until_ui(pilot, lambda: OUTSIDE.search(_shown(app)), what="the outside change said")
        said = OUTSIDE.search(_shown(app))
        assert said is not None and said.group(1) == "v1 70% v2 30%", _shown(app)
        assert "now: v1 90%" not in _shown(app), "the old split is still called 'now'"
        assert app.screen is form, "the form stays: the operator decides"

        await pilot.press("ctrl+r")
        await pilot.pause()
        weights = [form.query_one(f"#weight-{i}", Input).value for i in range(2)]
        assert weights == ["70", "30"]
        labels = [flat(region_text(app, form.query_one(f"#was-{i}"))) for i in range(2)]
        assert labels == ["was 70", "was 30"], labels
        shown = _shown(app)
        assert not OUTSIDE.search(shown) and "now: v1 70% v2 30%" in shown, shown
        assert "was 90" not in shown and "was 10" not in shown

        await pilot.press("plus")  # an edit from the new base: the labels stay, no conflict
        await pilot.pause()
        assert [form.query_one(f"#weight-{i}", Input).value for i in range(2)] == ["65", "35"]
        labels = [flat(region_text(app, form.query_one(f"#was-{i}"))) for i in range(2)]
        assert labels == ["was 70", "was 30"], f"'was' follows the edit: {labels}"
        await pilot.press("ctrl+s")
        await wait_until_ui(pilot, lambda: type(app.screen).__name__ == "DiffScreen", what="the diff")
        assert "weight: 70" in visible_text(app) and "Changed by someone else" not in visible_text(app)


FORMS = [
    pytest.param(
        "r",
        "limited",
        RateLimitEditor,
        ("set-rate-limit", "limited", "--requests", "7", "--interval", "1m", "--burst", "9"),
        {"#requests": "7", "#burst": "9"},
        id="rate-limit",
    ),
    pytest.param(
        "c",
        "cors",
        CorsEditor,
        ("set-cors", "cors", "--allow-origin", "https://new.example", "--allow-method", "GET"),
        {"#methods": "GET"},
        id="cors",
    ),
    pytest.param(
        "f",
        "path-v1",
        FaultEditor,
        ("set-fault", "path-v1", "--abort", "503", "--abort-percent", "5"),
        {"#abort-status": "503", "#abort-percent": "5"},
        id="fault",
    ),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("key", "route", "editor", "command", "fields"), FORMS)
async def test_every_form_says_its_aspect_changed_outside(
    gw: NativeConnector,
    size: tuple[int, int],
    key: str,
    route: str,
    editor: type[EditorScreen],
    command: tuple[str, ...],
    fields: dict[str, str],
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        form = await _form(pilot, key, route)
        assert isinstance(form, editor)
        await _cli(gw, *command)
        await wait_until_ui(pilot, lambda: OUTSIDE.search(_shown(app)), what="the outside change said")
        said = OUTSIDE.search(_shown(app))
        assert said is not None and said.group(1) == flat(form.describe(gw.get_route(route)) or "")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert {name: form.query_one(name, Input).value for name in fields} == fields
        assert not OUTSIDE.search(_shown(app))


@pytest.mark.parametrize("size", SIZES)
async def test_an_other_aspect_changed_outside_is_not_the_forms_business(
    gw: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        form = await _form(pilot, "w", "canary")
        await _cli(gw, "set-fault", "canary", "--abort", "503", "--abort-percent", "5")
        await wait_until_ui(
            pilot,
            lambda: any(r.name == "canary" and r.fault is not None for r in app.routes),
            what="the refresh",
        )
        await pilot.pause()
        assert not OUTSIDE.search(_shown(app)) and "now: v1 90% v2 10%" in _shown(app)
        assert app.screen is form and not isinstance(app.screen, RoutesScreen)


# -- the CORS switches without colour ------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_the_cors_switches_show_their_state_without_colour(
    gw: NativeConnector, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ConsoleApp(gw)
    assert app.no_color
    async with app.run_test(size=size) as pilot:
        form = await _form(pilot, "c", "cors")
        enabled, credentials = form.query_one("#enabled", Switch), form.query_one("#credentials", Switch)

        async def state(switch: Switch) -> str:
            form.query_one("#form", VerticalScroll).scroll_to_widget(switch, animate=False)  # 100x30
            await pilot.pause()
            return flat(region_text(app, switch))

        assert enabled.value and not credentials.value
        on, off = await state(enabled), await state(credentials)
        assert on != off, f"on and off look the same without colour: {on!r}"
        assert re.search(r"\bon\b", on) and re.search(r"\boff\b", off), (on, off)
        credentials.focus()
        await pilot.press("space")
        await wait_until_ui(pilot, lambda: credentials.value, what="credentials on")
        await pilot.pause()
        assert await state(credentials) == on


@pytest.mark.parametrize("size", SIZES)
async def test_the_fault_forms_mode_shows_without_colour(
    gw: NativeConnector, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        form = await _form(pilot, "f", "canary")
        modes = form.query_one("#mode", RadioSet)

        def marked() -> list[str]:
            return [line for line in region_text(app, modes).splitlines() if "●" in line]

        await pilot.pause()
        assert len(marked()) == 1 and "No fault injection" in marked()[0], region_text(app, modes)
        modes.focus()
        await pilot.press("up", "enter")
        await wait_until_ui(pilot, lambda: "Inject faults" in "".join(marked()), what="Inject chosen")
        assert len(marked()) == 1


@pytest.mark.parametrize("size", SIZES)
async def test_the_cors_forms_own_apply_is_not_a_change_from_outside(
    gw: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        form = await _form(pilot, "c", "cors")
        methods = form.query_one("#methods", Input)
        methods.value = "GET"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        await pilot.press("a")
        await wait_until_ui(pilot, lambda: diff.result is not None, what="the apply")
        served = gw.get_route("cors")
        await wait_until_ui(  # the console refreshed while the diff is still open over the form
            pilot, lambda: any(r == served for r in app.routes), what="a refresh with the applied policy"
        )
        await pilot.pause()
        assert not form.query_one("#outside").has_class("-shown"), "its own apply, said as someone else's"
        await pilot.press("escape")  # Done: back on the form, which stays open to probe
        await wait_until_ui(pilot, lambda: app.screen is form, what="the form")
        await pilot.pause()
        assert not OUTSIDE.search(_shown(app)), _shown(app)
        assert "now: " in _shown(app)
