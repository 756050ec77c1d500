"""Time-boxing any change from the diff (``t``: "revert after 3s"), at 160x45 and 100x30.

On a native gateway started with ``up`` (its supervisor beside Envoy): 50/50 weights for 3 s, real
requests see the split, then — the console closed — the supervisor reverts them through the change
pipeline and the history shows the revert; the same key on a rate-limit change, counted down in
``:timeboxes``. A bad length is one line naming the field and nothing is applied. On the Kubernetes
API emulator a time-boxed weight change carries its expiry on the VirtualService it wrote.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from connectors.change import Change
from connectors.http_client import http_client
from connectors.kube import open_cluster
from connectors.kube.timeboxes import BOXES, CHANGE_ID, EXPIRES_AT, rfc3339
from connectors.native import NativeConnector
from tests.crash_support import served
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import load
from tests.test_native_supervisor import Up, up
from tests.test_tui_support import visible_text
from tests.waiting import wait_until, wait_until_ui
from tui.app import ConsoleApp
from tui.screens.diff import DiffScreen
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.edit_weights import WeightsEditor
from tui.screens.help import HelpScreen
from tui.screens.timeboxes import TimeboxesScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
__all__ = ["up"]  # the fixture: a gateway started with up, killed at the end
PROMISE = re.compile(r"reverts by itself at \d\d:\d\d:\d\d \(in (\w+)\)")


@pytest.fixture(name="boxed")
def boxed_fixture(up: Up, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Up:
    """A gateway started with ``up`` (its supervisor carries out time boxes with no console
    running); the console in this process keeps its own files beside it."""
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    return up


def canary_weights(state_dir: Path) -> dict[str, int]:
    """The canary's weights as Envoy is given them."""
    weights: dict[str, int] = served(state_dir)["canary"]["weights"]
    return {k.split("~")[1]: v for k, v in weights.items()}


def history(gateway: Up) -> list[dict[str, object]]:
    done = gateway.cli("history", "-o", "json", "--gateway", gateway.name)
    assert done.returncode == 0, done.stderr
    entries: list[dict[str, object]] = json.loads(done.stdout)
    return entries


async def connected(pilot: Pilot[None], app: ConsoleApp) -> None:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)


async def open_editor(pilot: Pilot[None], app: ConsoleApp, route: str, key: str, form: type) -> None:
    """Once connected: the route filtered to, then ``key`` opens its ``form``."""
    await connected(pilot, app)
    await pilot.press("slash", *f"^{route}$", "enter")
    await pilot.press(key)
    await wait_until_ui(pilot, lambda: isinstance(app.screen, form), what=f"the {form.__name__}")


async def diff_of(pilot: Pilot[None], app: ConsoleApp) -> DiffScreen:
    """ctrl+s in a form: the diff of the edit."""
    await pilot.press("ctrl+s")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
    diff = app.screen
    assert isinstance(diff, DiffScreen)
    return diff


async def time_box(pilot: Pilot[None], diff: DiffScreen, text: str) -> None:
    """``t`` in the diff, the length typed over whatever was there, enter."""
    await pilot.press("t")
    field = diff.query_one("#timebox-for", Input)
    await wait_until_ui(pilot, lambda: field.has_focus, what="the time-box field focused")
    field.value = ""
    await pilot.press(*text, "enter")
    await pilot.pause()


async def apply(pilot: Pilot[None], diff: DiffScreen) -> str:
    """``a`` in the diff; the outcome once applied (and verified)."""
    await pilot.press("a")
    await wait_until_ui(pilot, lambda: diff.state == "done", seconds=30, what="the change applied")
    outcome = str(diff.query_one("#outcome", Static).render())
    assert diff.result is not None and diff.result.verification.ok, outcome
    return outcome


def console_on(gateway: Up) -> tuple[NativeConnector, str, ConsoleApp]:
    """A console on the gateway, as another process would open it; the gateway's listener URL."""
    gw = NativeConnector.attach(gateway.state_dir)
    return gw, gw.listener_url(), ConsoleApp(gw)


def split(listener: str, host: str, n: int) -> Counter[str]:
    with http_client(base_url=listener, timeout=5) as client:
        return Counter(
            client.get("/", headers={"host": host}).headers.get("x-backend", "?") for _ in range(n)
        )


@pytest.mark.parametrize("size", SIZES)
async def test_weights_time_boxed_in_the_diff_revert_by_themselves_with_no_console(
    boxed: Up, size: tuple[int, int]
) -> None:
    gw, listener, app = console_on(boxed)
    async with app.run_test(size=size) as pilot:
        await open_editor(pilot, app, "canary", "w", WeightsEditor)
        await pilot.press("p")  # 90/10 -> 50/50
        diff = await diff_of(pilot, app)
        assert "Time box… (t)" in visible_text(app), "the key is shown with the diff's buttons"
        await pilot.press("question_mark")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Time box (revert after…)" in visible_text(app), "? lists the key"
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: app.screen is diff)

        await time_box(pilot, diff, "3s")
        promise = PROMISE.search(visible_text(app))
        assert promise is not None and promise.group(1) == "3s", visible_text(app)
        assert canary_weights(boxed.state_dir) == {"v1": 90, "v2": 10}, "nothing applied before a"
        outcome = await apply(pilot, diff)
        assert "Time-boxed: reverts by itself at" in outcome and "(in 3s)" in outcome, outcome
        assert diff.result is not None
        change_id = diff.result.entry.id
        seen = split(listener, "canary.test", 60)
        assert seen["v1"] >= 15 and seen["v2"] >= 15, f"real requests see the 50/50 split: {seen}"
    gw.close()  # the console is gone: only the supervisor beside Envoy is left

    wait_until(
        lambda: canary_weights(boxed.state_dir) == {"v1": 90, "v2": 10}, 20, what="the supervisor to revert"
    )
    last = history(boxed)[-1]
    assert (last["action"], last["undoes"]) == ("undo", change_id)
    assert str(last["description"]).startswith("revert after 3s: canary: weights")
    assert "reverted" in (boxed.state_dir / "supervisor.log").read_text()
    assert split(listener, "canary.test", 60)["v1"] >= 45, "real requests are back on the 90/10 split"


@pytest.mark.parametrize("size", SIZES)
async def test_a_rate_limit_time_boxed_in_the_diff_is_counted_down_and_reverted(
    boxed: Up, size: tuple[int, int]
) -> None:
    gw, listener, app = console_on(boxed)
    async with app.run_test(size=size) as pilot:
        await open_editor(pilot, app, "host-v1", "r", RateLimitEditor)
        await pilot.click("#mode-on")
        app.screen.query_one("#requests", Input).value = "2"
        app.screen.query_one("#interval", Input).value = "1m"
        diff = await diff_of(pilot, app)
        assert "rate limit none→2/1m" in diff.plan.description
        await time_box(pilot, diff, "8s")
        promise = PROMISE.search(visible_text(app))
        assert promise is not None and promise.group(1) == "8s", visible_text(app)
        outcome = await apply(pilot, diff)
        assert "(in 8s)" in outcome, outcome
        with http_client(base_url=listener, timeout=5) as client:
            codes = [client.get("/", headers={"host": "v1.test"}).status_code for _ in range(3)]
        assert codes == [200, 200, 429], "the limit is enforced during its time box"
        await pilot.press("escape")
        app.run_console_command("timeboxes")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TimeboxesScreen))
        await wait_until_ui(
            pilot,
            lambda: re.search(r"in [1-8]s", visible_text(app)) is not None and "pending" in visible_text(app),
            what="the countdown in :timeboxes",
        )
    gw.close()

    wait_until(lambda: gw.get_route("host-v1").rate_limit is None, 25, what="the supervisor to revert")
    last = history(boxed)[-1]
    assert last["action"] == "undo" and str(last["description"]).startswith("revert after 8s: ")
    with http_client(base_url=listener, timeout=5) as client:
        assert {client.get("/", headers={"host": "v1.test"}).status_code for _ in range(4)} == {200}


BAD = [
    ("0s", "revert after: the time box must end in the future"),
    ("0", "revert after: expected a duration"),
    ("-5m", "revert after: expected a duration"),
    ("abc", "revert after: expected a duration"),
    ("8d", "revert after: at most 7d"),
]


async def test_a_bad_time_box_is_one_line_and_nothing_is_applied(
    shared_native_gateway: NativeConnector,
) -> None:
    gw = shared_native_gateway
    before, applied_before = gw.get_route("canary"), len(gw.history())
    app = ConsoleApp(gw)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_editor(pilot, app, "canary", "w", WeightsEditor)
        await pilot.press("p")
        diff = await diff_of(pilot, app)
        for text, says in BAD:
            await time_box(pilot, diff, text)
            error = str(diff.query_one("#timebox-error", Static).render())
            assert error.startswith(f"✖ {says}") and "\n" not in error, (text, error)
            assert PROMISE.search(visible_text(app)) is None
            await pilot.press("ctrl+s")  # apply, from the field
            await pilot.pause()
            diff.query_one("#confirm").focus()
            await pilot.press("a")  # and from the Apply button
            await pilot.pause()
            assert diff.state == "review", f"{text}: nothing is applied"
        assert gw.get_route("canary") == before and len(gw.history()) == applied_before
        await time_box(pilot, diff, "")  # empty: no time box after all
        assert str(diff.query_one("#timebox-error", Static).render()) == ""
        await pilot.press("escape")
    assert gw.get_route("canary") == before and len(gw.history()) == applied_before


@pytest.fixture
def reviews_console(
    kube_emulator: KubeEmulator, kubeconfig_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ConsoleApp:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = open_cluster("emulator", "default", kubeconfig=str(kubeconfig_path), verify_wait=0.2)
    return ConsoleApp(connector)


async def test_a_weight_change_time_boxed_in_the_diff_carries_its_expiry_on_the_virtualservice(
    reviews_console: ConsoleApp, kube_emulator: KubeEmulator, kubeconfig_path: Path
) -> None:
    app = reviews_console
    async with app.run_test(size=(160, 45)) as pilot:
        await open_editor(pilot, app, "reviews-0", "w", WeightsEditor)
        await pilot.press("p")
        diff = await diff_of(pilot, app)
        await time_box(pilot, diff, "15m")
        outcome = await apply(pilot, diff)
        assert "(in 15m)" in outcome, outcome
        assert diff.result is not None
        entry = diff.result.entry
    vs = kube_emulator.get_object("networking.istio.io", "v1", "virtualservices", "default", "reviews")
    assert vs is not None
    annotations = vs["metadata"]["annotations"]
    assert annotations[CHANGE_ID] == entry.id
    assert annotations[EXPIRES_AT] == rfc3339(entry.time + 900)
    (box,) = json.loads(annotations[BOXES])
    assert (box["status"], box["seconds"], box["routes"]) == ("pending", 900, ["reviews-0"])
    elsewhere = open_cluster("emulator", "default", kubeconfig=str(kubeconfig_path))
    assert [b.id for b in Change(elsewhere).hooks.reverts.boxes()] == [entry.id], "any console sees it"
