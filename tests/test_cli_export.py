"""``--export PATH`` writes the planned objects for GitOps review instead of applying them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from connectors.native import NativeConnector
from tests.kube_emulator import KubeEmulator
from tests.kube_emulator.schema import validate_manifest
from tests.test_cli_kube import istio, run, vs_weights

__all__ = ["istio"]


def test_export_writes_applyable_yaml_and_changes_nothing(
    istio: KubeEmulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rc, out, err = run(capsys, "routes", "-o", "json", "--context", "emulator-readonly", "-n", "default")
    assert rc == 0, err
    route = json.loads(out)[0]
    v1, v2 = (b["name"] for b in route["backends"])
    before = vs_weights(istio)
    target = tmp_path / "review"
    rc, out, err = run(
        capsys, "set-weights", route["name"], f"{v1}=50", f"{v2}=50", "--export", str(target),
        "--context", "emulator-readonly", "-n", "default",
    )  # fmt: skip
    assert rc == 0, err  # exporting needs no write access: a read-only user can propose a change
    assert "nothing applied" in out
    assert vs_weights(istio) == before
    written = sorted(target.rglob("*.yaml")) if target.is_dir() else [target]
    docs = [d for f in written for d in yaml.safe_load_all(f.read_text()) if d]
    assert docs, out
    for doc in docs:
        assert validate_manifest(doc) == []
    vs_doc = next(d for d in docs if d["kind"] == "VirtualService")
    weights = {d["destination"]["subset"]: d["weight"] for d in vs_doc["spec"]["http"][0]["route"]}
    assert weights == {"v1": 50, "v2": 50}


def test_native_gateway_refuses_export_with_one_line(
    native_gateway: NativeConnector, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    canary = native_gateway.get_route("canary")
    names = [b.name for b in canary.backends]
    rc, _, err = run(
        capsys, "set-weights", "canary", f"{names[0]}=50", f"{names[1]}=50",
        "--export", str(tmp_path / "x.yaml"), "--gateway", str(native_gateway.state_dir),
    )  # fmt: skip
    assert rc == 1
    assert err.startswith("error: ") and "export" in err and len(err.strip().splitlines()) == 1
    assert [b.weight for b in native_gateway.get_route("canary").backends] == [
        b.weight for b in canary.backends
    ]
