"""Helpers shared by the Kubernetes connector tests (no tests here): opening a connector on the
emulator, loading the shared examples, and looking at what was written.

Test modules import the fixtures by their function names (``connect_fixture``,
``kube_state_fixture``) and use them by their fixture names (``connect``, ``kube_state``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.kube import open_cluster
from connectors.kube.connector import KubeConnector
from tests.kube_emulator import KubeEmulator, RequestRecord
from tests.kube_emulator.reference import examples_dir

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = examples_dir()
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

Connect = Callable[..., KubeConnector]


@pytest.fixture(name="kube_state")
def kube_state_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "state"


# No controller runs in the emulator: verifications wait this long for one (tests that play the
# controller pass a longer wait).
VERIFY_WAIT_S = 0.2


@pytest.fixture(name="connect")
def connect_fixture(
    kube_emulator: KubeEmulator, kubeconfig_path: Path, kube_state: Path
) -> Iterator[Connect]:
    """``connect(context="emulator", namespace=None, flavour=None, readonly=False, **options)`` → a
    connector; ``options`` go to ``open_cluster`` (``prometheus``, ``verify_wait``)."""
    opened: list[KubeConnector] = []

    def make(
        context: str = "emulator",
        namespace: str | None = None,
        flavour: str | None = None,
        readonly: bool = False,
        **options: Any,
    ) -> KubeConnector:
        options.setdefault("verify_wait", VERIFY_WAIT_S)
        connector = open_cluster(
            context,
            namespace,
            kubeconfig=str(kubeconfig_path),
            flavour=flavour,
            readonly=readonly,
            **options,
        )
        assert isinstance(connector, KubeConnector)
        opened.append(connector)
        return connector

    yield make
    for connector in opened:
        connector.close()


def load(emu: KubeEmulator, *names: str, namespace: str = "default") -> list[dict[str, Any]]:
    """Seed examples from ``../shared/examples`` (``istio/...yaml``)."""
    out: list[dict[str, Any]] = []
    for name in names:
        out += emu.load_manifests(EXAMPLES / name, namespace=namespace)
    return out


def writes(emu: KubeEmulator) -> list[RequestRecord]:
    """Requests that change objects (self-subject reviews are POSTs but only ask questions)."""
    return [
        r
        for r in emu.requests()
        if r.method in WRITE_METHODS and "selfsubject" not in r.path and r.status < 400
    ]


def obj(
    emu: KubeEmulator, group: str, version: str, plural: str, name: str, namespace: str = "default"
) -> Any:
    found = emu.get_object(group, version, plural, namespace, name)
    assert found is not None, f"{plural}/{name} not in the emulator"
    return found


def vs(emu: KubeEmulator, name: str, namespace: str = "default") -> Any:
    return obj(emu, "networking.istio.io", "v1", "virtualservices", name, namespace)


def envoy_filter(emu: KubeEmulator, name: str, namespace: str) -> Any:
    return emu.get_object("networking.istio.io", "v1alpha3", "envoyfilters", namespace, name)


def http_route(emu: KubeEmulator, name: str, namespace: str = "default") -> Any:
    return obj(emu, "gateway.networking.k8s.io", "v1", "httproutes", name, namespace)


def spec_of(o: dict[str, Any]) -> Any:
    return o.get("spec")
