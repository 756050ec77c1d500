"""Pytest fixtures for the Kubernetes API emulator (registered in `tests/conftest.py`).

- `kube_emulator`: a running emulator with the Istio, Gateway API and Envoy Gateway CRDs and namespace
  `default`; a fresh one per test.
- `kube_emulator_factory(**KubeEmulator kwargs)`: more emulators, e.g. `crds=("gateway-api",)` for a
  cluster without Envoy Gateway; all stopped after the test.
- `kubeconfig_path`: kubeconfig for `kube_emulator` with contexts `emulator` (admin, allowed everything)
  and `emulator-readonly` (user `readonly`: get/list/watch only).
- `kube_api_client(context=None)`: a `kubernetes.client.ApiClient` loaded from that kubeconfig.
- `kube_dynamic_client`: a `kubernetes.dynamic.DynamicClient` (admin), discovery cached under tmp_path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import kubernetes
import pytest
from kubernetes.dynamic import DynamicClient

from .emulator import DEFAULT_CRDS, KubeEmulator
from .rbac import read_only

# The kubernetes package ships py.typed but leaves these functions unannotated.
_new_client_from_config = cast(
    Callable[..., kubernetes.client.ApiClient], kubernetes.config.new_client_from_config
)
_DynamicClient = cast(Callable[..., DynamicClient], DynamicClient)

READONLY_USER = "readonly"
READONLY_TOKEN = "readonly-token"


@pytest.fixture
def kube_emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator(crds=DEFAULT_CRDS) as emulator:
        yield emulator


@pytest.fixture
def kube_emulator_factory() -> Iterator[Callable[..., KubeEmulator]]:
    started: list[KubeEmulator] = []

    def make(**kwargs: Any) -> KubeEmulator:
        emulator = KubeEmulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def kubeconfig_path(kube_emulator: KubeEmulator, tmp_path: Path) -> Path:
    kube_emulator.add_user(READONLY_USER, token=READONLY_TOKEN, rules=read_only())
    return kube_emulator.write_kubeconfig(tmp_path / "kubeconfig", users=("admin", READONLY_USER))


@pytest.fixture
def kube_api_client(kubeconfig_path: Path) -> Iterator[Callable[..., kubernetes.client.ApiClient]]:
    clients: list[kubernetes.client.ApiClient] = []

    def make(context: str | None = None) -> kubernetes.client.ApiClient:
        client = _new_client_from_config(
            config_file=str(kubeconfig_path), context=context, persist_config=False
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        cast(Callable[[], None], client.close)()


@pytest.fixture
def kube_dynamic_client(
    kube_api_client: Callable[..., kubernetes.client.ApiClient], tmp_path: Path
) -> DynamicClient:
    return _DynamicClient(kube_api_client(), cache_file=str(tmp_path / "discovery-cache.json"))
