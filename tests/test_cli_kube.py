"""The headless commands on a Kubernetes gateway (Istio) through ``--context``/``-n``, against the
Kubernetes API emulator over real HTTP with a real kubeconfig."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import load, vs
from tui.cli import main


@pytest.fixture
def istio(
    kube_emulator: KubeEmulator, kubeconfig_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> KubeEmulator:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    load(kube_emulator, "istio/virtual-service-reviews-90-10.yaml", "istio/destination-rule-all.yaml")
    return kube_emulator


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def vs_weights(emu: KubeEmulator) -> dict[str, int]:
    route: list[dict[str, Any]] = vs(emu, "reviews")["spec"]["http"][0]["route"]
    return {d["destination"]["subset"]: d.get("weight", 0) for d in route}


def test_routes_and_set_weights_through_a_kube_context(
    istio: KubeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(capsys, "routes", "-o", "json", "--context", "emulator", "-n", "default")
    assert rc == 0, err
    listed = {r["name"]: {b["name"]: b["weight"] for b in r["backends"]} for r in json.loads(out)}
    reviews = next(name for name in listed if name.startswith("reviews"))
    assert sorted(listed[reviews].values()) == [10, 90]
    v1, v2 = sorted(listed[reviews], key=lambda b: -listed[reviews][b])

    # -n alone: kubectl's current context (the emulator's admin context).
    rc, out, err = run(capsys, "set-weights", reviews, f"{v1}=50", f"{v2}=50", "-n", "default")
    assert rc == 0, err  # written but unconfirmed (no controller, no pods here) still exits 0
    assert "Verification: written; not confirmed by a controller or proxy (" in out
    assert vs_weights(istio) == {"v1": 50, "v2": 50}


def test_a_read_only_context_refuses_the_change_with_one_line(
    istio: KubeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(capsys, "routes", "-o", "json", "--context", "emulator-readonly", "-n", "default")
    assert rc == 0, err
    route = json.loads(out)[0]
    names = [b["name"] for b in route["backends"]]
    args = (
        "set-weights",
        route["name"],
        f"{names[0]}=50",
        f"{names[1]}=50",
        "--context",
        "emulator-readonly",
    )
    rc, _, err = run(capsys, *args)
    assert rc == 1, err
    assert "error: Not allowed" in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert vs_weights(istio) == {"v1": 90, "v2": 10}
