"""Pilot stories for the incident actions in the console, at 160x45 and 100x30: from triage's refused
clients ``b`` denies the selected client for a while (the usual diff, then the time box, counted down
in ``:timeboxes``, reverted by itself); from a route's detail view ``b`` denies a client on a Kubernetes
route (an AuthorizationPolicy in the emulator, its expiry on the object); ``:health`` ranks backends
by trouble. Real native gateway and Envoys, the Kubernetes API emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from connectors.change import Change
from connectors.change.timebox import revert_expired
from connectors.http_client import http_get
from connectors.kube import open_cluster
from connectors.kube.timeboxes import BOXES
from connectors.model import Deny, DenyClient
from connectors.native import NativeConnector
from tests.incident_support import FailingServer
from tests.kube_emulator import KubeEmulator
from tests.prometheus_support import Traffic
from tests.proxy_support import GatewayPods, gateway_pods
from tests.test_kube_deny import SHOP, ap
from tests.test_kube_health import API, EJECT, WEB, cluster, get, route
from tests.test_kube_proxies import ISTIO_LABELS
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.deny_client import DenyScreen
from tui.screens.detail import DetailScreen
from tui.screens.diff import DiffScreen
from tui.screens.health import HealthScreen
from tui.screens.timeboxes import TimeboxesScreen
from tui.screens.triage import TriageScreen

__all__ = ["gateway_pods"]

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]


async def connected(pilot: Pilot[None], app: ConsoleApp) -> None:
    await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)


async def review_and_apply(pilot: Pilot[None], app: ConsoleApp) -> None:
    """In the deny dialog: ctrl+s plans, the diff opens; ``a`` applies."""
    await pilot.press("ctrl+s")
    await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
    diff = app.screen
    assert isinstance(diff, DiffScreen)
    await pilot.press("a")
    await wait_until_ui(pilot, lambda: diff.state == "done", seconds=30, what="the deny applied")
    assert diff.result is not None and diff.result.verification.ok, visible_text(app)
    await pilot.press("escape")


@pytest.mark.parametrize("size", SIZES)
async def test_triage_denies_the_selected_refused_client_for_a_while(
    shared_native_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    gw = shared_native_gateway
    before = gw.gateway()
    app = ConsoleApp(gw)
    try:
        with Traffic(gw.listener_url(), "limited.test", 10, {"x-user-id": "mallory"}):
            async with app.run_test(size=size) as pilot:
                await connected(pilot, app)
                await wait_until_ui(pilot, lambda: app.metrics_source is not None)
                app.run_console_command("triage")
                await wait_until_ui(pilot, lambda: isinstance(app.screen, TriageScreen))
                screen = app.screen
                assert isinstance(screen, TriageScreen)
                await wait_until_ui(
                    pilot,
                    lambda: screen.view is not None and "x-user-id" in screen.view.client_keys,
                    what="clients grouped by a logged header",
                )
                await pilot.press("g")
                clients = screen.query_one("#clients", DataTable)
                await wait_until_ui(
                    pilot,
                    lambda: screen.route == "limited" and clients.row_count > 0,
                    what="mallory among the refused clients",
                )
                assert "Deny client" in visible_text(app)
                await pilot.press("b")
                await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
                dialog = app.screen
                assert dialog.query_one("#deny-client", Input).value == "x-user-id=mallory"
                dialog.query_one("#deny-for", Input).value = "10m"
                await review_and_apply(pilot, app)
                await wait_until_ui(pilot, lambda: not isinstance(app.screen, DenyScreen), what="time-boxed")
                assert gw.get_route("limited").deny == Deny((DenyClient("header", "mallory", "x-user-id"),))
                status = http_get(
                    f"{gw.listener_url()}/",
                    headers={"host": "limited.test", "x-user-id": "mallory"},
                    timeout=5,
                ).status_code
                assert status == 403

                app.run_console_command("timeboxes")
                await wait_until_ui(pilot, lambda: isinstance(app.screen, TimeboxesScreen))
                await wait_until_ui(
                    pilot, lambda: "in 10m" in visible_text(app) or "in 9m" in visible_text(app)
                )
                assert "pending" in visible_text(app)
        (box,) = [b for b in Change(gw).hooks.reverts.boxes() if b.status == "pending"]
        (done,) = revert_expired(gw, now=box.due + 1)
        assert done.status == "reverted" and gw.get_route("limited").deny is None
    finally:
        if gw.gateway() != before:
            Change(gw).apply(gw.plan_gateway(before))


@pytest.fixture
def istio_console(
    kube_emulator: KubeEmulator, kubeconfig_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ConsoleApp:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    kube_emulator.create_namespace("istio-system")
    kube_emulator.load_manifests(SHOP)
    connector = open_cluster("emulator", "default", kubeconfig=str(kubeconfig_path), verify_wait=0.2)
    return ConsoleApp(connector)


@pytest.mark.parametrize("size", SIZES)
async def test_detail_view_denies_a_client_on_an_istio_route_with_the_expiry_on_the_object(
    istio_console: ConsoleApp, kube_emulator: KubeEmulator, size: tuple[int, int]
) -> None:
    app = istio_console
    async with app.run_test(size=size) as pilot:
        await connected(pilot, app)
        app.push_screen(DetailScreen("api"))
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("b")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DenyScreen))
        dialog = app.screen
        client = dialog.query_one("#deny-client", Input)
        client.value = "crawler 7"
        await pilot.press("ctrl+s")
        await wait_until_ui(pilot, lambda: "expected HEADER=VALUE or ip=CIDR" in visible_text(app))
        assert isinstance(app.screen, DenyScreen), "bad input: one line, nothing planned"
        client.value = "ip=203.0.113.0/24"
        dialog.query_one("#deny-for", Input).value = "30m"
        await review_and_apply(pilot, app)
        await wait_until_ui(pilot, lambda: ap(kube_emulator, "gatewayctl-deny-default-api") is not None)
        await wait_until_ui(
            pilot,
            lambda: (
                BOXES
                in ((ap(kube_emulator, "gatewayctl-deny-default-api") or {}).get("metadata") or {}).get(
                    "annotations", {}
                )
            ),
            what="the time box written on the AuthorizationPolicy",
        )
        annotations = ap(kube_emulator, "gatewayctl-deny-default-api")["metadata"]["annotations"]
        assert json.loads(annotations[BOXES])[0]["seconds"] == 1800
        app.run_console_command("timeboxes")
        await wait_until_ui(pilot, lambda: isinstance(app.screen, TimeboxesScreen))
        await wait_until_ui(pilot, lambda: "in 30m" in visible_text(app) or "in 29m" in visible_text(app))


@pytest.mark.parametrize("size", SIZES)
async def test_health_view_ranks_the_ejected_backend_first(
    istio_console: ConsoleApp, gateway_pods: GatewayPods, size: tuple[int, int]
) -> None:
    bad, ok = FailingServer(503), FailingServer(200)
    try:
        clusters = [cluster(API, [bad], **EJECT), cluster(WEB, [ok])]
        pod = gateway_pods.start(
            "istio-system",
            "ingress-0",
            ISTIO_LABELS,
            "istio-proxy",
            15000,
            [route("/api", API), route("/", WEB)],
            clusters,
        )
        for _ in range(6):
            get(pod, "/api/x")
        app = istio_console
        async with app.run_test(size=size) as pilot:
            await connected(pilot, app)
            app.run_console_command("health")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, HealthScreen))
            screen = app.screen
            assert isinstance(screen, HealthScreen)
            await wait_until_ui(pilot, lambda: screen.view is not None and len(screen.view.rows) == 2)
            table = screen.query_one("#health", DataTable)
            assert [str(table.get_row_at(i)[0]) for i in range(2)] == ["api", "web"]
            text = visible_text(app)
            assert "EJECTED" in text and "1 in trouble" in text
            assert "failed_outlier_check" in text, "the selected backend's endpoints below the table"
            await pilot.press("enter")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DetailScreen))
    finally:
        bad.stop()
        ok.stop()
