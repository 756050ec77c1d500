"""Per-proxy confirmation in the console, driven with Pilot against the Kubernetes API emulator and two
real Envoys as gateway pods: after apply the diff's result says which pods hold the change and that
the change did not converge by the deadline when one pod is withheld it; ``:proxies ROUTE`` shows a
row per pod, and ``ctrl+r`` asks again once the control plane caught up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Static

from connectors.kube import open_cluster
from connectors.model.edits import set_weights
from tests.kube_emulator import KubeEmulator
from tests.proxy_support import GatewayPods, gateway_pods
from tests.test_kube_proxies import ControlPlane, istio_routes
from tests.test_kube_proxy_policies import start_istio_pods
from tests.test_kube_support import vs
from tests.test_tui_stories import SIZE, open_console, settle
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.diff import DiffScreen
from tui.screens.proxies import ProxiesScreen

__all__ = ["gateway_pods"]


async def test_apply_shows_each_proxy_and_proxies_view_follows_the_control_plane(
    kube_emulator: KubeEmulator,
    kubeconfig_path: Path,
    gateway_pods: GatewayPods,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    start_istio_pods(kube_emulator, gateway_pods)
    pod_a, pod_b = gateway_pods.pods
    conn = open_cluster(context="emulator", namespace="default", kubeconfig=str(kubeconfig_path))
    conn.proxy_wait = 2.0  # type: ignore[attr-defined]
    app = ConsoleApp(conn)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_console(pilot)
            route = next(r for r in app.routes if r.name.startswith("reviews"))
            plan = await asyncio.to_thread(
                conn.plan, [set_weights(route, {b.name: 50 for b in route.backends})]
            )
            app.push_screen(DiffScreen(plan))
            await settle(pilot)

            def written() -> bool:
                return [
                    d.get("weight") for d in vs(kube_emulator, "reviews")["spec"]["http"][0]["route"]
                ] == [50, 50]

            with ControlPlane(written, [pod_a], istio_routes(50, 50)):  # pod b is withheld
                await pilot.press("a")
                await wait_until_ui(
                    pilot,
                    lambda: (
                        app.screen.query_one("#outcome", Static).has_class("-shown")
                        and "Applied" in str(app.screen.query_one("#outcome", Static).render())
                    ),
                    30,
                )
                await settle(pilot)
            outcome = str(app.screen.query_one("#outcome", Static).render())
            assert "the gateway does not show it in effect yet" in outcome
            assert (
                "proxies: NOT converged by the 2 s deadline: 1 of 2 gateway pods hold the change" in outcome
            )
            assert f"proxy istio-system/istio-ingressgateway-a ({route.name}): has it" in outcome
            assert f"proxy istio-system/istio-ingressgateway-b ({route.name}): not yet" in outcome
            await pilot.press("escape")
            await settle(pilot)

            await pilot.press("colon", *f"proxies {route.name}", "enter")
            await settle(pilot)
            view = app.screen
            assert isinstance(view, ProxiesScreen)
            table = view.table
            assert table.row_for("istio-system/istio-ingressgateway-a") == (
                "istio-system/istio-ingressgateway-a",
                "has it",
                "v1 50%, v2 50%",
            )
            row_b = table.row_for("istio-system/istio-ingressgateway-b")
            assert row_b is not None and row_b[1] == "different", row_b  # no "before" in a drift check
            verdict = str(view.query_one("#verdict", Static).render())
            assert "proxies: 1 of 2 gateway pods hold the route as its objects say" in verdict

            await asyncio.to_thread(pod_b.serve, istio_routes(50, 50))  # the control plane catches up
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert [r[1] for r in (table.row_for(k) for k in table.shown_keys) if r] == ["has it", "has it"]
            verdict = str(view.query_one("#verdict", Static).render())
            assert "proxies: all 2 gateway pods hold the route as its objects say" in verdict
    finally:
        conn.close()
