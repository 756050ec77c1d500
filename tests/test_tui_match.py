"""Pilot stories for the request tester (``:match``, ``m`` on a route) at 160x45 and 100x30, on a real
native Envoy running the demo's routes: for every demo route the console's prediction is what the
``match --send`` command observes, and the console's own send agrees; bad input is one line naming
the field with nothing sent; a changed form shows nothing stale; esc asks when typed in."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from connectors.demo.config import API_HOST, ROUTES
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, JwtSigner
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.confirm import ConfirmScreen
from tui.screens.detail import DetailScreen
from tui.screens.help import HelpScreen
from tui.screens.match import MatchScreen
from tui.screens.routes import RoutesScreen
from tui.widgets.line_table import LineTable

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


async def connected(pilot: Pilot[None], app: ConsoleApp) -> None:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)


async def open_tester_on(pilot: Pilot[None], app: ConsoleApp, route: str) -> MatchScreen:
    """``m`` on the route's row of the routes view."""
    routes = app.screen
    assert isinstance(routes, RoutesScreen)
    assert routes.query_one(LineTable).move_to_key(route)
    await pilot.press("m")
    return await shown_tester(pilot, app)


async def shown_tester(pilot: Pilot[None], app: ConsoleApp) -> MatchScreen:
    """The request tester once it is on screen with its form filled in."""
    await wait_until_ui(
        pilot,
        lambda: isinstance(app.screen, MatchScreen) and app.screen.ready,
        what="the request tester",
    )
    screen = app.screen
    assert isinstance(screen, MatchScreen)
    await pilot.pause()
    return screen


async def answered(pilot: Pilot[None], screen: MatchScreen, key: str) -> None:
    screen.outcome = None
    await pilot.press(key)
    await wait_until_ui(pilot, lambda: screen.outcome is not None, seconds=20, what="an answer")
    await pilot.pause()


def cli_send(gw: NativeConnector, host: str, path: str) -> dict[str, Any]:
    """``match --send -o json`` for the same request (its output caught here: inside run_test
    Textual holds stdout)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rc = main(
            ["match", "--host", host, "--path", path, "--send", "-o", "json", "--gateway", str(gw.state_dir)]
        )
    data: dict[str, Any] = json.loads(printed.getvalue())
    assert rc == 0, data
    return data


@pytest.mark.parametrize("size", SIZES)
async def test_every_demo_route_is_predicted_as_the_gateway_answers(
    demo_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        for demo in ROUTES:
            screen = await open_tester_on(pilot, app, demo.name)
            host = screen.query_one("#host", Input).value
            path = screen.query_one("#path", Input).value
            assert host == demo.host, demo
            await answered(pilot, screen, "ctrl+s")  # offline first
            predicted = screen.outcome
            assert predicted is not None and predicted.sent is None
            assert predicted.explanation.route == demo.name, visible_text(app)
            # what the command observes when it sends the same request
            observed = cli_send(demo_gateway, host, path)["sent"]
            assert observed["route"] == demo.name and observed["agrees"], observed
            e = predicted.explanation
            if e.answered_by == "upstream":
                assert observed["answered_by"] in ("upstream", "rate-limit"), observed
            else:
                assert (observed["answered_by"], observed["status"]) == (e.answered_by, e.status)
            # and the console's own send says the same, on screen
            await answered(pilot, screen, "ctrl+g")
            outcome = screen.outcome
            assert outcome is not None and outcome.sent is not None and outcome.agrees, outcome
            assert outcome.sent.route == demo.name
            text = visible_text(app)
            assert f"route {demo.name} (the gateway's access log)" in text, text
            assert "Agrees      yes" in text, text
            await pilot.press("escape")  # untouched since it opened: no question
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen), what="the routes view")


@pytest.mark.parametrize("size", SIZES)
async def test_bad_input_is_one_line_naming_the_field_and_nothing_is_sent(
    demo_gateway: NativeConnector, backends: DemoBackends, size: tuple[int, int]
) -> None:
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        app.run_console_command("match")
        screen = await shown_tester(pilot, app)
        before = backends.v1.requests + backends.v2.requests
        screen.query_one("#host", Input).value = API_HOST
        screen.query_one("#headers", TextArea).text = "x-user-id: alice\nbad name: v"
        await pilot.press("ctrl+g")
        await pilot.pause()
        problem = str(screen.query_one("#problem").render())
        assert problem == "✖ header: invalid header name 'bad name'", problem
        assert problem in visible_text(app)
        screen.query_one("#headers", TextArea).text = ""
        screen.query_one("#path", Input).value = "limited"
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert str(screen.query_one("#problem").render()).startswith(
            "✖ path: 'limited' is not a request path"
        )
        screen.query_one("#path", Input).value = "/"
        screen.query_one("#curl", Input).value = "curl 'http://x/"
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert str(screen.query_one("#problem").render()).startswith("✖ curl: cannot read the command")
        assert screen.outcome is None and not screen.busy
        assert backends.v1.requests + backends.v2.requests == before  # nothing was sent


@pytest.mark.parametrize("size", SIZES)
async def test_a_dodging_path_is_shown_as_envoy_normalises_it(
    demo_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    """A path typed with dot segments is predicted, sent byte for byte and seen taken by the route
    Envoy normalises it to; an escaped slash is Envoy's own 307, and the screen says where to."""
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        app.run_console_command("match")
        screen = await shown_tester(pilot, app)
        screen.query_one("#host", Input).value = API_HOST
        screen.query_one("#path", Input).value = "/static/../limited/x"
        await answered(pilot, screen, "ctrl+g")
        outcome = screen.outcome
        assert outcome is not None and outcome.sent is not None and outcome.agrees, outcome
        assert outcome.explanation.route == outcome.sent.route == "api-limited"
        text = visible_text(app)
        assert "Envoy routes /static/../limited/x as /limited/x" in text, text
        assert "Agrees      yes" in text, text
        screen.query_one("#path", Input).value = "/static%2F..%2Flimited/x"
        await answered(pilot, screen, "ctrl+g")
        outcome = screen.outcome
        assert outcome is not None and outcome.sent is not None and outcome.agrees, outcome
        assert outcome.sent.answer.headers.get("location") == "/limited/x"
        text = visible_text(app)
        assert "none — the gateway answers 307" in text and "Location /limited/x" in text, text
        assert "Agrees      yes" in text, text


@pytest.mark.parametrize("size", SIZES)
async def test_a_pasted_curl_a_changed_form_and_leaving(
    demo_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        app.push_screen(DetailScreen("api-limited"))
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("m")  # from the route's detail view
        screen = await shown_tester(pilot, app)
        assert screen.query_one("#path", Input).value == "/limited"
        await pilot.press("slash", "x")  # typed at the end of what was filled in
        assert screen.query_one("#path", Input).value == "/limited/x"
        url = f"{demo_gateway.listener_url()}/static/../limited/x"
        screen.query_one("#curl", Input).value = f"curl -H 'Host: {API_HOST}' '{url}'"
        await pilot.pause()
        assert screen.query_one("#path", Input).disabled  # the curl command is what is asked
        await answered(pilot, screen, "ctrl+g")
        outcome = screen.outcome
        assert outcome is not None and outcome.sent is not None
        assert outcome.explanation.route == outcome.sent.route == "api-limited" and outcome.agrees
        text = visible_text(app)
        assert "curl sends /limited/x" in text and "Agrees      yes" in text, text
        # the result is on screen even at 100x30 (the form scrolls above it)
        result = screen.query_one("#result")
        assert result.region.height > 0 and screen.query_one("#body").scrollable_content_region.contains(
            result.region.x, result.region.y
        )
        # any change: the answer shown goes, nothing stale stays
        screen.query_one("#curl", Input).value += " -H 'x-user-id: bob'"
        await pilot.pause()
        assert screen.outcome is None and "Agrees" not in visible_text(app)
        # esc on a form typed in asks; n stays, y leaves
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Leave the request tester?" in visible_text(app)
        await pilot.press("n")
        await wait_until_ui(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))


async def test_it_is_listed_in_help_and_the_palette(demo_gateway: NativeConnector) -> None:
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=(160, 45)) as pilot:
        await connected(pilot, app)
        await pilot.press("question_mark")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = visible_text(app)
        assert ":match [ROUTE]" in text and "Test request" in text, text
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "What happens to a request?" in titles
        app.run_console_command("match api")
        screen = await shown_tester(pilot, app)
        assert screen.query_one("#host", Input).value == API_HOST
        await pilot.press("escape")
        app.run_console_command("match nosuch")
        screen = await shown_tester(pilot, app)
        await pilot.pause()
        assert "✖ route: no route named 'nosuch'" in visible_text(app)
        await pilot.press("f1")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = visible_text(app)
        assert "^s  Match" in text and "^g  Send" in text and "f1  Help" in text, text


@pytest.mark.parametrize("size", SIZES)
async def test_a_token_in_the_query_or_the_token_field_is_predicted_and_never_shown(
    demo_gateway: NativeConnector, jwt_signer: JwtSigner, size: tuple[int, int]
) -> None:
    """The cold tester's JWT case in the console: a valid token in ``access_token`` reaches the
    backend; a valid token in the Token field beside a bad ``access_token`` is refused — as Envoy does."""
    token = jwt_signer.token()
    app = ConsoleApp(demo_gateway)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        screen = await open_tester_on(pilot, app, "api-jwt")
        path = screen.query_one("#path", Input)
        path.value = f"/secure/x?access_token={token}"
        await answered(pilot, screen, "ctrl+g")
        outcome = screen.outcome
        assert outcome is not None and outcome.sent is not None and outcome.agrees
        assert outcome.explanation.answered_by == "upstream" and outcome.sent.answer.status == 200
        path.value = "/secure/x?access_token=garbage"
        screen.query_one("#token", Input).value = token
        await answered(pilot, screen, "ctrl+g")
        outcome = screen.outcome
        assert outcome is not None and outcome.sent is not None and outcome.agrees
        assert (outcome.explanation.answered_by, outcome.sent.answer.status) == ("jwt", 401)
        text = visible_text(app)
        assert "the token in the access_token parameter" in text, text
        assert token not in text and token[-20:] not in text  # the Token field is masked
