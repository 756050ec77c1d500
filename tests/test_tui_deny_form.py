"""The deny form, as an on-call operator meets it (issues 11 and 13), at 160x45 and 100x30.

Behind a load balancer — or on localhost, as in the demo — every request has the same source
address: ``b`` on triage's refused ``127.0.0.1`` must not prefill it silently, or one ``ctrl+s``,
``a`` blocks everyone. The form prefills the header client that got that address's 429s (the demo's
``x-user-id=crawler-7``) and says why; typing the address anyway shows the warning, asks before
planning, and the diff warns. ``gatewayctl-tui deny`` warns in its plan and needs ``--force``.
``esc`` on a filled deny form asks before throwing it away. The real demo (Envoy, backends,
traffic from 127.0.0.1 as several users) and a real native gateway.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from connectors.change import Change
from connectors.demo.context import DemoContext
from connectors.http_client import http_client
from connectors.native import NativeConnector
from tests.test_oncall_triage_stories import demo  # noqa: F401 - fixture
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.confirm import ConfirmScreen
from tui.screens.deny_client import DenyScreen
from tui.screens.detail import DetailScreen
from tui.screens.diff import DiffScreen
from tui.screens.triage import TriageScreen
from tui.textual_compat import notifications

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
EVERYONE = "127.0.0.1 is the source of 100% of api-limited's requests in the last 5m"


async def connected(pilot: Pilot[None], app: ConsoleApp) -> None:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)


def shown(app: ConsoleApp, selector: str) -> str:
    """The text of a widget on the screen on top, as one line (a dialog wraps long lines), or ""
    when it is not displayed."""
    widget = app.screen.query_one(selector)
    if not (widget.display and widget.region.height):
        return ""
    # A dialog's details are a scrolling column of one Static per detail.
    parts = [widget] if isinstance(widget, Static) else list(widget.query(Static))
    return " ".join(" ".join(str(part.render()).split()) for part in parts)


def client_field(app: ConsoleApp) -> Input:
    return app.screen.query_one("#deny-client", Input)


@pytest.mark.parametrize("size", SIZES)
async def test_b_on_an_address_that_is_everyone_prefills_the_crawler_and_the_address_needs_a_yes(
    demo: DemoContext,  # noqa: F811 - the fixture imported above
    size: tuple[int, int],
) -> None:
    gw = demo.connector
    assert isinstance(gw, NativeConnector)
    before = gw.gateway()
    app = ConsoleApp(gw)
    try:
        async with app.run_test(size=size) as pilot:
            await connected(pilot, app)
            await wait_until_ui(pilot, lambda: app.metrics_source is not None)
            await pilot.press("t")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
            screen = app.screen
            assert isinstance(screen, TriageScreen)
            clients = screen.query_one("#clients", DataTable)
            await wait_until_ui(
                pilot,
                lambda: screen.route == "api-limited" and clients.row_count > 0,
                seconds=25,
                what="the refused 127.0.0.1 on api-limited (grouped by source)",
            )
            assert str(clients.get_row_at(0)[0]) == "127.0.0.1"
            await pilot.press("b")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
            dialog = app.screen
            await wait_until_ui(
                pilot, lambda: client_field(app).value != "", what="the form's prefill after its check"
            )
            assert client_field(app).value == "x-user-id=crawler-7", "the address is everyone: not prefilled"
            note = shown(app, "#deny-warning")
            assert EVERYONE in note and "blocks everyone" in note and "prefilled x-user-id=crawler-7" in note

            # The operator types the address anyway: warned, then asked before anything is planned.
            client_field(app).value = "ip=127.0.0.1"
            await wait_until_ui(
                pilot,
                lambda: (w := shown(app, "#deny-warning")).startswith("⚠ 127.0.0.1") and "prefilled" not in w,
                what="the typed address warned about",
            )
            assert "denying it blocks everyone" in shown(app, "#deny-warning")
            await pilot.press("ctrl+s")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
            assert EVERYONE in shown(app, "#details")
            await pilot.press("n")
            await wait_until_ui(pilot, lambda: app.screen is dialog, what="back in the form")
            await pilot.press("ctrl+s")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
            await wait_until_ui(pilot, lambda: EVERYONE in shown(app, "#warnings"), what="the diff's warning")
            await pilot.press("escape")  # not applied
            await wait_until_ui(pilot, lambda: app.screen is dialog)
        assert gw.get_route("api-limited").deny is None
        with http_client(base_url=gw.listener_url(), timeout=5) as c:
            assert c.get("/", headers={"host": "api.demo", "x-user-id": "alice"}).status_code == 200
    finally:
        if gw.gateway() != before:
            Change(gw).apply(gw.plan_gateway(before))


@pytest.mark.parametrize("size", SIZES)
async def test_esc_on_a_filled_deny_form_asks_and_an_untouched_one_just_closes(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        app.push_screen(DetailScreen("limited"))
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        await pilot.press("b")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: app.screen is detail, what="an untouched form to just close")

        await pilot.press("b")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
        dialog = app.screen
        await pilot.press(*"x-user-id=mallory")
        assert client_field(app).value == "x-user-id=mallory"
        status = dialog.query_one("#deny-status", Input)
        status.value = "ip=127.0.0.1"  # typed in the wrong field: one line naming it, nothing planned
        bad = "status: expected an HTTP error status such as 403, got 'ip=127.0.0.1'"
        await wait_until_ui(pilot, lambda: bad in shown(app, "#deny-status-error"), what="the status refused")
        await pilot.press("ctrl+s")
        assert app.screen is dialog
        status.value = "403"
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        question = visible_text(app)
        assert "Discard your edit?" in question and "x-user-id=mallory" in question, question
        await pilot.press("n")
        await wait_until_ui(pilot, lambda: app.screen is dialog)
        assert client_field(app).value == "x-user-id=mallory", "the edit is kept"
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until_ui(pilot, lambda: app.screen is detail, what="the form discarded")
    assert gw.get_route("limited").deny is None


def test_deny_of_an_address_that_sends_every_request_warns_and_needs_force(
    shared_native_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = shared_native_gateway
    before = gw.gateway()
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        for user in ("alice", "bob", "carol") * 2:
            c.get("/", headers={"host": "v1.test", "x-user-id": user})
    # Envoy writes its access log about a second after the requests.
    wait_until(lambda: gw.access_log_path.read_text().count('"host-v1"') >= 6, what="the requests logged")
    warning = (
        "127.0.0.1 is the source of 100% of host-v1's requests in the last 5m (6 of 6): "
        "denying it blocks everyone"
    )
    args = ["deny", "host-v1", "--client", "ip=127.0.0.1", "--gateway", str(gw.state_dir)]
    try:
        capsys.readouterr()
        assert main([*args, "--dry-run"]) == 0
        assert f"warning: {warning}" in capsys.readouterr().out

        assert main(args) == 1
        out, err = capsys.readouterr()
        assert f"warning: {warning}" in out
        assert err.count("\n") == 1 and err.startswith("error: ") and "--force" in err, err
        assert gw.get_route("host-v1").deny is None

        assert main([*args, "--force"]) == 0
        assert f"warning: {warning}" in capsys.readouterr().out
        with http_client(base_url=gw.listener_url(), timeout=5) as c:
            assert c.get("/", headers={"host": "v1.test", "x-user-id": "alice"}).status_code == 403
    finally:
        if gw.gateway() != before:
            Change(gw).apply(gw.plan_gateway(before))


@pytest.mark.parametrize("size", SIZES)
async def test_every_deny_field_is_checked_as_you_type_and_review_waits(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    """As README promises for every form: a bad value is one line under its field as it is typed, and
    Review stays disabled until every field is good; nothing is planned meanwhile."""
    gw = shared_native_gateway
    app = ConsoleApp(gw)
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        app.push_screen(DetailScreen("limited"))
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("b")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
        dialog = app.screen
        review = dialog.query_one("#plan", Button)
        await pilot.press(*"x-user-id=mallory")
        await wait_until_ui(pilot, lambda: not review.disabled, what="a good deny can be reviewed")

        dialog.query_one("#deny-for", Input).focus()
        await pilot.press("end", "ctrl+u", *"bad header=x")  # the cold tester's typo, typed into For
        await wait_until_ui(pilot, lambda: shown(app, "#deny-for-error") != "", what="For checked as typed")
        assert shown(app, "#deny-for-error").startswith("✖ for: "), shown(app, "#deny-for-error")
        assert "\n" not in str(dialog.query_one("#deny-for-error", Static).render()).strip()
        assert review.disabled, "Review waits for a good For"
        await pilot.press("ctrl+s")  # does nothing but point at the field
        assert app.screen is dialog and shown(app, "#deny-for-error")

        await pilot.press("end", "ctrl+u", *"30m")
        await wait_until_ui(pilot, lambda: shown(app, "#deny-for-error") == "", what="the error gone")
        assert not review.disabled

        dialog.query_one("#deny-status", Input).focus()
        await pilot.press("end", "ctrl+u", *"451")
        await wait_until_ui(pilot, lambda: "allowed: 403" in shown(app, "#deny-status-error"))
        assert review.disabled
        await pilot.press("end", "ctrl+u", *"403")
        await wait_until_ui(pilot, lambda: shown(app, "#deny-status-error") == "")

        dialog.query_one("#deny-client", Input).focus()
        await pilot.press("end", "ctrl+u", *"crawler-7")
        await wait_until_ui(pilot, lambda: "HEADER=VALUE" in shown(app, "#deny-client-error"))
        assert review.disabled
        await pilot.press("end", "ctrl+u", *"x-user-id=crawler-7")
        await wait_until_ui(pilot, lambda: not review.disabled, what="every field good again")
        assert all(shown(app, f"#deny-{f}-error") == "" for f in ("client", "status", "for"))
    assert gw.get_route("limited").deny is None


async def test_b_in_triage_before_a_route_is_selected_asks_for_one_instead_of_failing(
    shared_native_gateway: NativeConnector,
) -> None:
    """``t`` then ``b`` at once (as ``:timeboxes`` typed into the routes view once did): triage has no
    route selected yet, so ``b`` says to select one; the console stays up, no deny form opens."""
    app = ConsoleApp(shared_native_gateway)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await connected(pilot, app)
        await pilot.press("t")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen), what="triage")
        # Whether triage's first reading lands before a fast ``b`` is a race; hold it before one.
        triage = app.screen
        assert isinstance(triage, TriageScreen)
        triage.route = None
        await pilot.press("b")
        await wait_until_ui(
            pilot,
            lambda: (
                any("Select a route first" in str(n.message) for n in notifications(app))
                or isinstance(app.screen, DenyScreen)
            ),
            what="b answered",
        )
        assert app.is_running and not isinstance(app.screen, DenyScreen)
