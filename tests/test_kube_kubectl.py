"""The real kubectl trusts the emulator: HTTPS with the kubeconfig's CA (so the bearer token is sent),
OpenAPI documents for validation (no `--validate=false` anywhere here), protobuf bodies of built-ins."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kube_emulator import KubeEmulator, RequestRecord
from tests.kubectl_support import Kubectl, kubectl, kubectl_binary
from tests.test_cli_kube import istio, run, vs_weights
from tests.test_kube_support import EXAMPLES, load, vs
from tests.waiting import wait_until as wait_for

__all__ = ["istio", "kubectl"]

EG_NS = "gateway-conformance-infra"
REVIEWS_80_20 = str(EXAMPLES / "istio" / "virtual-service-reviews-80-20.yaml")
REVIEWS_90_10 = str(EXAMPLES / "istio" / "virtual-service-reviews-90-10.yaml")


def weights(obj: dict[str, Any]) -> list[int]:
    return [d.get("weight", 0) for d in obj["spec"]["http"][0]["route"]]


def test_kubectl_sends_the_token_over_https_and_rbac_applies(
    kube_emulator: KubeEmulator, kubectl: Kubectl
) -> None:
    assert kube_emulator.url.startswith("https://")
    kubectl("get", "namespaces", check=True)
    assert {r.user for r in kube_emulator.requests(path_contains="/api/v1/namespaces")} == {"admin"}

    refused = kubectl("apply", "-f", REVIEWS_80_20, context="emulator-readonly")
    assert refused.returncode == 1
    assert 'User "readonly" cannot' in refused.stderr
    assert (
        kube_emulator.get_object("networking.istio.io", "v1", "virtualservices", "default", "reviews") is None
    )


def test_create_apply_get_patch_diff_delete_without_turning_validation_off(
    kube_emulator: KubeEmulator, kubectl: Kubectl
) -> None:
    created = kubectl("create", "namespace", "shop")  # a protobuf request body
    assert created.returncode == 0, created.stderr
    assert "namespace/shop created" in created.stdout
    kubectl("create", "configmap", "settings", "-n", "shop", "--from-literal=mode=canary", check=True)
    settings = kube_emulator.get_object("", "v1", "configmaps", "shop", "settings") or {}
    assert settings.get("data") == {"mode": "canary"}

    applied = kubectl("apply", "-n", "shop", "-f", REVIEWS_80_20)
    assert applied.returncode == 0, applied.stderr
    assert "virtualservice.networking.istio.io/reviews created" in applied.stdout
    got = json.loads(
        kubectl("get", "virtualservice", "reviews", "-n", "shop", "-o", "json", check=True).stdout
    )
    assert weights(got) == [80, 20]

    diff = kubectl("diff", "-n", "shop", "-f", REVIEWS_90_10)
    assert diff.returncode == 1, diff.stderr  # 1: differences found
    assert "-      weight: 80" in diff.stdout and "+      weight: 90" in diff.stdout
    assert weights(vs(kube_emulator, "reviews", "shop")) == [80, 20]  # diff is a server-side dry run

    kubectl("apply", "-n", "shop", "-f", REVIEWS_90_10, check=True)
    assert kubectl("diff", "-n", "shop", "-f", REVIEWS_90_10).returncode == 0

    patch = '[{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 70}, '
    patch += '{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 30}]'
    kubectl("patch", "virtualservice", "reviews", "-n", "shop", "--type=json", "-p", patch, check=True)
    assert weights(vs(kube_emulator, "reviews", "shop")) == [70, 30]
    kubectl("label", "namespace", "shop", "team=payments", check=True)  # a strategic merge patch
    namespace = kube_emulator.get_object("", "v1", "namespaces", "", "shop") or {}
    assert namespace["metadata"]["labels"]["team"] == "payments"

    deleted = kubectl("delete", "-n", "shop", "-f", REVIEWS_90_10)
    assert deleted.returncode == 0, deleted.stderr
    assert kube_emulator.get_object("networking.istio.io", "v1", "virtualservices", "shop", "reviews") is None


def test_the_server_validates_what_kubectl_sends(kube_emulator: KubeEmulator, kubectl: Kubectl) -> None:
    manifest: dict[str, Any] = yaml.safe_load(Path(REVIEWS_80_20).read_text())
    manifest["spec"]["http"][0]["route"][0]["wieght"] = 80
    unknown = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert unknown.returncode == 1
    assert 'unknown field "spec.http[0].route[0].wieght"' in unknown.stderr

    manifest = yaml.safe_load(Path(REVIEWS_80_20).read_text())
    manifest["spec"]["http"][0]["route"][0]["weight"] = "eighty"
    wrong_type = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert wrong_type.returncode == 1
    assert "spec.http[0].route[0].weight" in wrong_type.stderr
    assert (
        kube_emulator.get_object("networking.istio.io", "v1", "virtualservices", "default", "reviews") is None
    )


def test_openapi_documents_serve_the_crd_schemas(kube_emulator: KubeEmulator, kubectl: Kubectl) -> None:
    index = json.loads(kubectl("get", "--raw", "/openapi/v3", check=True).stdout)
    assert {
        "api/v1",
        "apis/apps/v1",
        "apis/networking.istio.io/v1",
        "apis/gateway.envoyproxy.io/v1alpha1",
    } <= set(index["paths"])
    explained = kubectl("explain", "virtualservice.spec.http.route.weight", check=True).stdout
    assert "Weight specifies the relative proportion of traffic" in explained
    v2 = json.loads(kubectl("get", "--raw", "/openapi/v2", check=True).stdout)
    assert "io.k8s.networking.gateway.v1.HTTPRoute" in v2["definitions"]


def test_watch_streams_changes_to_kubectl(
    kube_emulator: KubeEmulator, kubectl: Kubectl, tmp_path: Path
) -> None:
    kubectl("get", "namespaces", check=True)  # warm the discovery cache so the watch starts quickly
    home = tmp_path / "kubectl-home"
    kubeconfig = kube_emulator.write_kubeconfig(tmp_path / "watch-kubeconfig")
    watch = subprocess.Popen(
        [
            *(kubectl_binary(), "--cache-dir", str(home / "cache"), "--kubeconfig", str(kubeconfig)),
            *("get", "virtualservices", "--watch", "-o", "name"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert watch.stdout is not None
        _wait_for_watch(kube_emulator)
        load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
        assert watch.stdout.readline().strip() == "virtualservice.networking.istio.io/reviews"
    finally:
        watch.terminate()
        watch.communicate(timeout=10)


def _wait_for_watch(emu: KubeEmulator) -> None:
    def watching() -> list[RequestRecord]:
        return [r for r in emu.requests("GET", "virtualservices") if r.query.get("watch") == ["true"]]

    wait_for(watching, timeout=30, what="kubectl's watch request")


@pytest.mark.parametrize(
    "edit",
    [
        ("set-weights", "{route}", "{v1}=50", "{v2}=50"),
        ("set-rate-limit", "{route}", "--requests", "20", "--interval", "1m"),
        ("set-cors", "{route}", "--allow-origin", "https://shop.example", "--allow-method", "GET"),
        (
            "set-fault",
            "{route}",
            "--delay",
            "200ms",
            "--delay-percent",
            "10",
            "--abort",
            "503",
            "--abort-percent",
            "5",
        ),
    ],
    ids=["weights", "rate-limit", "cors", "fault"],
)
def test_every_istio_export_passes_a_server_dry_run(
    istio: KubeEmulator,
    kubectl: Kubectl,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    edit: tuple[str, ...],
) -> None:
    rc, out, err = run(capsys, "routes", "-o", "json", "-n", "default")
    assert rc == 0, err
    route = next(r for r in json.loads(out) if r["name"].startswith("reviews"))
    v1, v2 = (b["name"] for b in route["backends"])
    args = [a.format(route=route["name"], v1=v1, v2=v2) for a in edit]
    before = vs_weights(istio)
    target = tmp_path / "export"
    rc, out, err = run(capsys, *args, "--export", str(target), "-n", "default")
    assert rc == 0, err
    dry = kubectl("apply", "--dry-run=server", "-R", "-f", str(target))
    assert dry.returncode == 0, dry.stderr
    assert "(server dry run)" in dry.stdout
    assert vs_weights(istio) == before


@pytest.mark.parametrize(
    "edit",
    [
        ("set-weights", "{route}", "{v1}=50", "{v2}=50"),
        ("set-rate-limit", "{route}", "--requests", "20", "--interval", "1m"),
        ("set-cors", "{route}", "--allow-origin", "https://shop.example", "--allow-method", "GET"),
        (
            "set-fault",
            "{route}",
            "--delay",
            "200ms",
            "--delay-percent",
            "10",
            "--abort",
            "503",
            "--abort-percent",
            "5",
        ),
    ],
    ids=["weights", "rate-limit", "cors", "fault"],
)
def test_every_envoy_gateway_export_passes_a_server_dry_run(
    kube_emulator: KubeEmulator,
    kubeconfig_path: Path,
    kubectl: Kubectl,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit: tuple[str, ...],
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_path))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    load(kube_emulator, "envoy-gateway/weighted-backend-bluegreen.yaml", namespace=EG_NS)
    rc, out, err = run(capsys, "routes", "-o", "json", "-n", EG_NS)
    assert rc == 0, err
    route = json.loads(out)[0]
    v1, v2 = (b["name"] for b in route["backends"])
    args = [a.format(route=route["name"], v1=v1, v2=v2) for a in edit]
    before = kube_emulator.resource_version
    target = tmp_path / "export"
    rc, out, err = run(capsys, *args, "--export", str(target), "-n", EG_NS)
    assert rc == 0, err
    dry = kubectl("apply", "--dry-run=server", "-R", "-f", str(target))
    assert dry.returncode == 0, dry.stderr
    assert "(server dry run)" in dry.stdout
    assert kube_emulator.resource_version == before  # neither the export nor the dry run wrote
