"""Keys an on-call operator pressed cold in tmux against ``./dev demo`` (issue 11, "Keys that cannot
hurt" and "Findable and fitting"), at 160x45 and 100x30, on the in-memory gateway (the keys are the
console's):

- keys typed at once after ``:`` (tmux ``send-keys ':canary shop'``) all go into the prompt;
- ``:view`` opens that view fresh, the stack stays bounded, ``esc`` goes back one level;
- ctrl+c asks to quit from everywhere, form fields included (it copies only a selection you made);
- ``:q`` quits (asking when needed), ``esc`` goes back; help and README say the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from tests.test_tui_support import StaticConnector, sample_routes, visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.detail import DetailScreen
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.edit_weights import WeightsEditor
from tui.screens.help import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.policies import PoliciesScreen
from tui.screens.routes import RoutesScreen
from tui.screens.triage import TriageScreen
from tui.widgets.command_line import CommandLine

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
DEMO = "the demo gateway demo (Envoy listening on http://127.0.0.1:10000)"
README = Path(__file__).resolve().parents[1] / "README.md"
KEY_NAMES = {":": "colon", "/": "slash", " ": "space", "^": "circumflex_accent", "$": "dollar_sign"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


def type_at_once(app: ConsoleApp, text: str) -> None:
    """Queue every key of ``text`` before the app handles any, as ``tmux send-keys 'text'`` delivers
    a string (one read, many keys); ``\\r`` is enter."""
    for character in text:
        if character == "\r":
            app.post_message(events.Key("enter", "\r"))
        else:
            app.post_message(events.Key(KEY_NAMES.get(character, character), character))


async def _loaded(pilot: Pilot[None]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until_ui(pilot, lambda: app.routes_loaded, what="the routes")
    return app


async def _command(pilot: Pilot[None], text: str) -> None:
    await pilot.press("colon", *text, "enter")
    await pilot.pause()


# -- 1. type-ahead ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_keys_typed_at_once_after_colon_all_go_into_the_prompt(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        type_at_once(app, ":canary shop")  # c would open the CORS editor, e the edit chooser
        await wait_until_ui(
            pilot,
            lambda: bool(app.screen.query(CommandLine)) and app.screen.query_one(CommandLine).value != "",
            what="the prompt",
        )
        await pilot.pause()
        assert isinstance(app.screen, RoutesScreen), f"a key reached the view: {app.screen}"
        prompt = app.screen.query_one(CommandLine)
        assert prompt.value == "canary shop" and prompt.has_focus
        await pilot.press("escape")

        type_at_once(app, ":history\r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history view")
        await pilot.pause()  # the view is on the stack before it is ready for keys (slow under load)

        type_at_once(app, ":routes\r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what="the routes view")
        routes = app.screen
        await pilot.pause()
        type_at_once(app, "/yet")  # y YAML, e edit, t triage: all typed into the filter
        await wait_until_ui(pilot, lambda: routes.query_one(CommandLine).value == "yet", what="the filter")
        await pilot.pause()
        assert app.screen is routes and routes.table.filter_text == "yet"


@pytest.mark.parametrize("size", SIZES)
async def test_digits_typed_at_once_on_the_weight_bar_make_one_number(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await pilot.press("slash", *"^shop$", "enter", "w")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, WeightsEditor), what="the weights form")
        form = app.screen
        type_at_once(app, "50")  # on the bar, v2 picked: its weight becomes 50, not 0

        def weights() -> list[str]:
            return [form.query_one(f"#weight-{i}", Input).value for i in range(2)]

        await wait_until_ui(pilot, lambda: weights() == ["50", "50"], seconds=3, what="50/50")
        await pilot.pause()
        assert weights() == ["50", "50"]


# -- 2. the screen stack ------------------------------------------------------------------------


def _screens(app: ConsoleApp) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack]


@pytest.mark.parametrize("size", SIZES)
async def test_colon_views_open_fresh_and_esc_goes_back_one_level(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await pilot.press("enter")  # the first route's description
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await _command(pilot, "triage")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
        old_triage = app.screen
        assert _screens(app) == ["RoutesScreen", "TriageScreen"], "a : jump starts from the view"

        await _command(pilot, "history")
        await _command(pilot, "triage")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
        assert app.screen is not old_triage
        assert _screens(app) == ["HistoryScreen", "TriageScreen"]

        for _ in range(3):  # back and forth: nothing piles up, nothing old comes back
            await _command(pilot, "routes")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what=":routes")
            assert _screens(app) == ["RoutesScreen"], "the old triage resurfaced"
            await _command(pilot, "history")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, HistoryScreen), what=":history")
            assert _screens(app) == ["HistoryScreen"]
            await _command(pilot, "pol")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, PoliciesScreen), what=":pol")
            assert _screens(app) == ["PoliciesScreen"]

        await _command(pilot, "routes")
        await pilot.press("enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("escape")  # one level back: the routes view, not an older screen
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen))
        assert _screens(app) == ["RoutesScreen"]


@pytest.mark.parametrize("size", SIZES)
async def test_leaving_a_view_with_an_unapplied_edit_asks_first(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await pilot.press("enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        await pilot.press("w", "5", "0")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, WeightsEditor))
        form = app.screen
        await pilot.press("ctrl+p", *"history", "enter")  # the palette's History, from the form
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "unapplied weights edit of route shop" in visible_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is form and app.current_mode == "routes"
        await pilot.press("ctrl+p", *"history", "enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert _screens(app) == ["HistoryScreen"] and not detail.is_attached


# -- 4. ctrl+c ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_ctrl_c_in_a_form_field_asks_to_quit(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()), stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await pilot.press("slash", *"^api$", "enter", "r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor), what="the form")
        form = app.screen
        requests = form.query_one("#requests", Input)
        await wait_until_ui(pilot, lambda: requests.has_focus, what="the requests field")
        assert requests.selected_text == "100", "focusing selected the value for the operator"
        await pilot.press("ctrl+c")  # that selection is not the operator's: ctrl+c asks to quit
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Quit gatewayctl?" in visible_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is form and requests.has_focus

        await pilot.press("2", "5", "shift+left")  # the operator selects the 5: ctrl+c copies it
        assert requests.selected_text == "5"
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.screen is form and app.clipboard == "5"

        await pilot.press("end", "ctrl+c")  # nothing selected: the question, naming the edit
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "unapplied rate limit edit of route api" in visible_text(app)
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: not app.is_running, what="the console to quit")


@pytest.mark.parametrize("size", SIZES)
async def test_ctrl_c_in_the_prompt_asks_to_quit_and_help_says_so(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()), stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await pilot.press("question_mark")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("end")  # the help scrolls at 100x30
        await pilot.pause()
        flat = re.sub(r"[\s█▀▄]+", " ", visible_text(app))  # lines joined, the dialog's border gone
        assert "ctrl+c copies instead when you selected text" in flat
        await pilot.press("escape", "colon", "r", "o", "ctrl+c")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: not app.is_running, what="the console to quit")


# -- 8. :q quits, esc goes back -----------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_colon_q_quits_from_any_screen_and_esc_goes_back(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()), stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await pilot.press("enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await _command(pilot, "q")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what=":q to ask")
        assert "Quit gatewayctl?" in visible_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what="esc: back")
        assert app.is_running


async def test_colon_q_with_nothing_to_lose_quits_at_once_from_a_detail_view() -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(160, 45)) as pilot:
        await _loaded(pilot)
        await pilot.press("enter")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await _command(pilot, "q")
        await wait_until_ui(pilot, lambda: not app.is_running, what=":q to quit")


async def test_help_and_readme_agree_that_colon_q_quits_and_esc_goes_back() -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(160, 45)) as pilot:
        await _loaded(pilot)
        await pilot.press("question_mark")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = visible_text(app)
    assert not re.search(r":q\b[^\n]*goes back", shown), "help still says :q goes back"
    assert re.search(r":q\s+quit", shown), shown
    assert re.search(r"esc\s+back", shown), shown
    keys = README.read_text()
    assert "`:q` quits" in keys and "`esc` goes back" in keys
    assert "`:q` goes back" not in keys and "`q` or `:q` on a view's first screen" not in keys
