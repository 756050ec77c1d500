"""Keys that cannot hurt (issue 11, item 4), as an operator presses them, at 160x45 and 100x30.

Quitting asks when it would lose an edit or stop the demo's gateway; esc on a changed form asks;
weight fields replace their value and take no shortcuts; presets start after the current split; the
weight bar draws only valid splits; the origins box types at its end; ``?`` answers in every form and
the diff. The keys are the console's, so most run on the in-memory gateway; the canary's promote and
plan fields run on a real Envoy (``shared_native_gateway``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from connectors.native import NativeConnector
from tests.test_tui_support import StaticConnector, sample_routes, visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.canary import CanaryScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.diff import DiffScreen
from tui.screens.edit_cors import CorsEditor
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.edit_weights import WeightsEditor
from tui.screens.help import HelpScreen
from tui.screens.routes import RoutesScreen
from tui.widgets.weight_bar import WeightBar

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
DEMO = "the demo gateway demo (Envoy listening on http://127.0.0.1:10000)"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


async def _loaded(pilot: Pilot[None]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until_ui(pilot, lambda: app.routes_loaded, what="the routes")
    return app


async def _open_form(pilot: Pilot[None], key: str, route: str = "shop") -> None:
    app = await _loaded(pilot)
    await pilot.press("slash", *f"^{route}$", "enter")
    await pilot.press(key)
    await wait_until_ui(pilot, lambda: not isinstance(app.screen, RoutesScreen), what="the form")


def _weights(app: ConsoleApp) -> list[str]:
    return [app.screen.query_one(f"#weight-{i}", Input).value for i in range(2)]


# -- quitting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", [("q",), ("ctrl+q",), ("ctrl+c",), ("colon", "q", "enter")])
async def test_quitting_the_demo_asks_first_and_n_stays(size: tuple[int, int], key: tuple[str, ...]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()), stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await pilot.press(*key)
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        shown = visible_text(app)
        assert "Quit gatewayctl?" in shown and "stops the demo gateway demo" in shown
        assert "http://127.0.0.1:10000" in shown
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, RoutesScreen)
        await pilot.press(*key)
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: not app.is_running, what="the console to quit")


async def test_quitting_with_nothing_to_lose_is_immediate() -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(160, 45)) as pilot:
        await _loaded(pilot)
        await pilot.press("q")
        await wait_until_ui(pilot, lambda: not app.is_running, what="the console to quit")


@pytest.mark.parametrize("size", SIZES)
async def test_ctrl_q_mid_edit_asks_and_keeps_the_edit(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "w")
        await pilot.press("5", "0")
        assert _weights(app) == ["50", "50"]
        await pilot.press("ctrl+q")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        shown = visible_text(app)
        assert "unapplied weights edit of route shop" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WeightsEditor) and _weights(app) == ["50", "50"]


# -- esc on a form ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_esc_on_a_changed_form_asks_and_an_unchanged_one_just_closes(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "r", "api")
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what="the form to close")

        await pilot.press("r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor))
        form = app.screen
        requests = form.query_one("#requests", Input)
        requests.focus()
        await pilot.press("2", "5")
        assert requests.value == "25", "a focused number field replaces its value"
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Discard" in visible_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is form and requests.value == "25", "the edit is kept"
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what="the form to close")


# -- the weights form ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_typed_weights_replace_and_minus_is_not_a_shortcut(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "w")  # shop: v1 90 / v2 10, the canary v2 picked
        await pilot.press("5", "0")
        assert _weights(app) == ["50", "50"], "digits replace the weight, not 1050"
        bar = app.screen.query_one("#bar", WeightBar)
        assert bar.weights == (("v1", 50), ("v2", 50))

        # In a weight field, - is never a shortcut ("-5" is not 955), and never typed either: a
        # weight is 0..100, which the field says (tests/test_tui_cold_fit.py has the message).
        await pilot.press("up", "down")  # to v1's field and back: v2's 50 is selected
        await pilot.press("minus")
        await pilot.pause()
        assert _weights(app) == ["50", "50"], "no shortcut moved a weight, nothing typed"
        assert "v2 weight must be 0..100" in visible_text(app)
        await pilot.press("backspace")  # an empty field is no split
        await pilot.pause()
        shown = visible_text(app)
        assert "not a valid split" in shown, "the bar draws only valid splits"
        assert "v1 100%" not in shown

        # Focusing a field selects its value: typing replaces it.
        app.screen.query_one("#weight-0", Input).focus()
        await pilot.pause()
        await pilot.press("7", "0")
        assert _weights(app) == ["70", "30"]
        assert bar.weights == (("v1", 70), ("v2", 30))


@pytest.mark.parametrize("size", SIZES)
async def test_presets_start_after_the_current_split_and_shortcuts_work_off_the_fields(
    size: tuple[int, int],
) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "w")  # 90/10
        for expected in (["50", "50"], ["0", "100"], ["100", "0"], ["90", "10"]):
            await pilot.press("p")
            await pilot.pause()
            assert _weights(app) == expected
        await pilot.press("plus")  # the canary is picked: 85/15
        await pilot.pause()
        assert _weights(app) == ["85", "15"]
        await pilot.press("up", "right_square_bracket")  # pick v1, one point to it
        await pilot.pause()
        assert _weights(app) == ["86", "14"]


# -- the origins box ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_the_origins_box_types_at_its_end(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "c", "api")  # origins: https://app.example.com
        origins = app.screen.query_one("#origins", TextArea)
        origins.focus()
        await pilot.press("enter", *"https://b.example")
        await pilot.pause()
        assert origins.text == "https://app.example.com\nhttps://b.example"


# -- help everywhere ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_question_mark_opens_help_in_every_form_and_the_diff(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        for key, route, form in (
            ("w", "shop", WeightsEditor),
            ("r", "api", RateLimitEditor),
            ("c", "api", CorsEditor),
        ):
            await pilot.press("escape")  # clear the filter
            await _open_form(pilot, key, route)
            assert isinstance(app.screen, form)
            if form is CorsEditor:
                app.screen.query_one("#methods", Input).focus()
            await pilot.press("question_mark")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, HelpScreen), what=f"help in {form}")
            assert "Apply" in visible_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, form)
            if form is WeightsEditor:
                await pilot.press("p", "ctrl+s")
                await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
                await pilot.press("question_mark")
                await wait_until_ui(
                    pilot, lambda: isinstance(app.screen, HelpScreen), what="help in the diff"
                )
                await pilot.press("escape", "escape")
                await pilot.pause()
            await pilot.press("escape")
            if isinstance(app.screen, ConfirmScreen):
                await pilot.press("y")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen))


# -- the canary ---------------------------------------------------------------------------------


async def _canary(pilot: Pilot[None], app: ConsoleApp) -> CanaryScreen:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    app.run_console_command("canary canary")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, CanaryScreen) and bool(app.screen.canary))
    screen = app.screen
    assert isinstance(screen, CanaryScreen)
    return screen


@pytest.mark.parametrize("size", SIZES)
async def test_promote_asks_and_abort_does_not(
    size: tuple[int, int], shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await _canary(pilot, app)
        await pilot.press("p")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "all traffic on route canary to v2" in visible_text(app)
        await pilot.press("n")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert [b.weight for b in gw.get_route("canary").backends] == [90, 10], "n changed nothing"
        await pilot.press("p")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until_ui(
            pilot, lambda: [b.weight for b in gw.get_route("canary").backends] == [0, 100], what="promoted"
        )
        await pilot.press("a")  # abort: at once, no question
        await wait_until_ui(
            pilot, lambda: [b.weight for b in gw.get_route("canary").backends] == [100, 0], what="aborted"
        )
        assert not isinstance(app.screen, ConfirmScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_canary_plan_fields_keep_the_keys_and_esc_keeps_the_plan(
    size: tuple[int, int], shared_native_gateway: NativeConnector, restore_canary: None
) -> None:
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=size) as pilot:
        screen = await _canary(pilot, app)
        steps = screen.query_one("#steps", Input)
        steps.focus()
        await pilot.press(*"10, 50, 100")
        assert steps.value == "10, 50, 100", "a focused plan field replaces its value"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen, "esc in a plan field stays on the canary view"
        assert steps.value == "10, 50, 100" and not steps.has_focus
        steps.focus()
        await pilot.press("end", "p")  # not typed into the field: promote asks
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("n")
        await pilot.pause()
        assert steps.value == "10, 50, 100"
        shown = screen.query_one("#plan-error", Static)
        assert "✖" not in str(shown.render())
