"""From the diff modal, an operator on a cluster exports the planned objects for GitOps review."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.kube import open_cluster
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from tests.kube_emulator import KubeEmulator
from tests.test_cli_kube import istio, vs_weights
from tests.test_tui_stories import SIZE, open_console, settle
from tests.test_tui_support import visible_text
from tui.app import ConsoleApp
from tui.screens.diff import DiffScreen

__all__ = ["istio"]


async def test_export_from_the_diff_writes_files_and_applies_nothing(
    istio: KubeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    before = vs_weights(istio)
    conn = open_cluster(context="emulator", namespace="default")
    app = ConsoleApp(conn)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_console(pilot)
            route = next(r for r in app.routes if r.name.startswith("reviews"))
            edited = set_weights(route, {b.name: 50 for b in route.backends})
            plan = await asyncio.to_thread(conn.plan, [edited])
            app.push_screen(DiffScreen(plan))
            await settle(pilot)
            assert "Export for review (x)" in visible_text(app)
            await pilot.press("x")
            await settle(pilot)
            assert "Exported for review (nothing applied)" in visible_text(app)
    finally:
        conn.close()
    assert list((tmp_path / "gatewayctl-export").rglob("*.yaml"))
    assert vs_weights(istio) == before


async def test_native_gateway_offers_no_export(native_gateway: NativeConnector) -> None:
    app = ConsoleApp(native_gateway)
    async with app.run_test(size=SIZE) as pilot:
        await open_console(pilot)
        route = native_gateway.get_route("canary")
        plan = await asyncio.to_thread(native_gateway.plan, [set_weights(route, {"v1": 50, "v2": 50})])
        app.push_screen(DiffScreen(plan))
        await settle(pilot)
        assert "Apply (a)" in visible_text(app)
        assert "Export" not in visible_text(app)
