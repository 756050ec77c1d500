"""The ``:`` prompt in every view (issue 11, "Keys that cannot hurt", "Findable and fitting"), at
160x45 and 100x30, on a real native Envoy:

- after ``:`` the prompt shows what is typed and the footer its own keys (never a blank footer), and
  ``:routes`` works from triage, health, timeboxes, history, charts, canary, policies and detail;
- help lists every ``:`` command, generated from the one command table (``:health``, ``:timeboxes``);
- keys typed in the same burst after a command's ⏎ (tmux ``send-keys ':routes' Enter '/yet'``) go
  to the view the command opened, never to the old one; they never answer a question it asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.screen import Screen

from connectors.native import NativeConnector
from tests.test_tui_cold_fit import flat, region_text
from tests.test_tui_cold_keys import type_at_once
from tests.waiting import wait_until_ui
from tui import commands
from tui.app import ConsoleApp
from tui.screens.canary import CanaryScreen
from tui.screens.charts import ChartsScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.detail import DetailScreen
from tui.screens.health import HealthScreen
from tui.screens.help import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.policies import PoliciesScreen
from tui.screens.routes import RoutesScreen
from tui.screens.timeboxes import TimeboxesScreen
from tui.screens.triage import TriageScreen
from tui.widgets.command_line import CommandLine
from tui.widgets.key_hints import KeyHints

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
DEMO = "the demo gateway demo (Envoy listening on http://127.0.0.1:10000)"

# How the operator reaches each view from the routes view (keys typed at once; \r is enter).
VIEWS = [
    pytest.param(":triage\r", TriageScreen, id="triage"),
    pytest.param(":health\r", HealthScreen, id="health"),
    pytest.param(":timeboxes\r", TimeboxesScreen, id="timeboxes"),
    pytest.param(":history\r", HistoryScreen, id="history"),
    pytest.param(":policies\r", PoliciesScreen, id="policies"),
    pytest.param("/^canary$\r:charts\r", ChartsScreen, id="charts"),
    pytest.param(":canary canary\r", CanaryScreen, id="canary"),
    pytest.param("/^canary$\r\r", DetailScreen, id="detail"),
]


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield shared_native_gateway


async def _connected(pilot: Pilot[None]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
    return app


async def _open(pilot: Pilot[None], app: ConsoleApp, keys: str, view: type[Screen[None]]) -> Screen[object]:
    type_at_once(app, keys)
    await wait_until_ui(pilot, lambda: isinstance(app.screen, view), what=view.__name__)
    await pilot.pause()
    return app.screen


def _prompt(app: ConsoleApp) -> CommandLine | None:
    found = app.screen.query(CommandLine)
    return found.first() if found else None


# -- 2. the prompt in every view ----------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("keys", "view"), VIEWS)
async def test_the_prompt_shows_what_is_typed_and_works_in_every_view(
    gw: NativeConnector, size: tuple[int, int], keys: str, view: type[Screen[None]]
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        screen = await _open(pilot, app, keys, view)
        type_at_once(app, ":rou")
        await wait_until_ui(
            pilot, lambda: (p := _prompt(app)) is not None and p.value == "rou", what="the prompt"
        )
        await pilot.pause()
        prompt = _prompt(app)
        assert prompt is not None and prompt.has_focus and app.screen is screen
        shown = region_text(app, prompt)
        assert "rou" in shown and prompt.region.bottom <= app.size.height, f"not on screen: {shown!r}"
        footer = flat(region_text(app, screen.query_one(KeyHints)))
        assert re.search(r"⏎ Run\b", footer) and "esc Cancel" in footer, f"footer: {footer!r}"

        type_at_once(app, "tes\r")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what=":routes")
        assert [type(s) for s in app.screen_stack] == [RoutesScreen]


# -- 3. help lists every command ----------------------------------------------------------------


async def _help_text(pilot: Pilot[None], app: ConsoleApp) -> str:
    """The whole help as read by scrolling through it."""
    await pilot.press("question_mark")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
    await pilot.pause()
    scroll = app.screen.query_one(VerticalScroll)
    seen: dict[int, str] = {}
    page = max(1, scroll.scrollable_content_region.height)
    for y in range(0, max(1, scroll.virtual_size.height), page):
        scroll.scroll_to(y=y, animate=False)
        await pilot.pause()
        top = round(scroll.scroll_y)
        for i, line in enumerate(region_text(app, scroll, scroll.scrollable_content_region).splitlines()):
            seen.setdefault(top + i, line)
    return "\n".join(seen[i] for i in sorted(seen))


@pytest.mark.parametrize("size", SIZES)
async def test_help_lists_every_command_of_the_command_table(
    gw: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        shown = await _help_text(pilot, app)
    for word in (":health", ":timeboxes", ":triage", ":charts", ":proxies", ":canary ROUTE", ":q"):
        assert re.search(rf"(^|\s){re.escape(word)}(\s|$)", shown, re.M), f"help omits {word}:\n{shown}"
    for command in commands.COMMANDS:
        if command.help:
            assert command.usage in shown, f"help omits {command.usage}:\n{shown}"


def test_every_command_in_the_table_runs_and_every_completion_is_a_command() -> None:
    words = {name for command in commands.COMMANDS for name in command.names}
    assert {"health", "timeboxes", "triage", "routes", "q"} <= words
    for completion in commands.COMPLETIONS:
        assert completion.split()[0] in words, f"{completion!r} completes to no command"
    for command in commands.COMMANDS:
        assert commands.find(command.names[0]) is command


# -- 5. keys after a command's enter go to the new view -----------------------------------------


BURSTS = [
    pytest.param(":triage\r", ":routes\r/yet", RoutesScreen, id="triage-to-routes"),
    pytest.param(":history\r", ":routes\r/yet", RoutesScreen, id="history-to-routes"),
    pytest.param("", ":history\r/yet", HistoryScreen, id="routes-to-history"),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("first", "burst", "view"), BURSTS)
async def test_keys_typed_after_a_commands_enter_go_to_the_new_view(
    gw: NativeConnector, size: tuple[int, int], first: str, burst: str, view: type[Screen[None]]
) -> None:
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        if first:
            await _open(pilot, app, first, TriageScreen if "triage" in first else HistoryScreen)
        old = app.screen
        type_at_once(app, burst)  # one tmux send-keys: the command, enter and a filter, at once
        await wait_until_ui(pilot, lambda: isinstance(app.screen, view), what=view.__name__)
        new = app.screen
        await wait_until_ui(
            pilot, lambda: (p := _prompt(app)) is not None and p.value == "yet", what="the filter"
        )
        await pilot.pause()
        assert app.screen is new and new is not old
        assert [type(s) for s in app.screen_stack] == [view]
        old_prompt = old.query(CommandLine)
        assert not old_prompt or "yet" not in old_prompt.first().value, "keys reached the old view"


@pytest.mark.parametrize("size", SIZES)
async def test_keys_typed_after_colon_q_never_answer_the_question(
    gw: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(gw, stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        type_at_once(app, ":q\ry")  # the y was typed before the question was on screen
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConfirmScreen), "a key typed ahead quit"
        await pilot.press("n")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen))
        type_at_once(app, ":history\r")  # and the console takes keys normally afterwards
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HistoryScreen))


BACK_AGAIN = [
    pytest.param(":triage\r", "escape", id="triage-esc"),
    pytest.param(":canary canary\r", "escape", id="canary-esc"),
    pytest.param(":health\r", "escape", id="health-esc"),
    pytest.param(":history\r", ":routes\r", id="history-colon-routes"),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("there", "back"), BACK_AGAIN)
async def test_back_on_a_view_after_a_command_its_keys_work_again(
    gw: NativeConnector, size: tuple[int, int], there: str, back: str
) -> None:
    app = ConsoleApp(gw, stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        await _connected(pilot)
        routes = app.screen
        type_at_once(app, there)
        await wait_until_ui(pilot, lambda: app.screen is not routes, what="the view")
        await pilot.pause()
        if back == "escape":
            await pilot.press("escape")
        else:
            type_at_once(app, back)
        await wait_until_ui(pilot, lambda: app.screen is routes, what="back on the routes view")
        await pilot.pause()
        assert not isinstance(app.screen.focused, CommandLine), "focus is in the hidden prompt"
        await pilot.press("q")  # q on a view's first screen quits, asking (the demo would stop)
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="q to ask")
