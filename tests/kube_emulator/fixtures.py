"""Pytest fixtures for the Kubernetes API emulator (registered in `tests/conftest.py`).

- `kube_emulator`: a running emulator with the Istio, Gateway API and Envoy Gateway CRDs and namespace
  `default`; a fresh one per test.
- `kube_emulator_factory(**KubeEmulator kwargs)`: more emulators, e.g. `crds=("gateway-api",)` for a
  cluster without Envoy Gateway; all stopped after the test.
- `kubeconfig_path`: kubeconfig for `kube_emulator` with contexts `emulator` (admin, allowed everything)
  and `emulator-readonly` (user `readonly`, token `readonly-token`: get/list/watch only).
- `kube_api_client(context=None)`: a `kubernetes.client.ApiClient` loaded from that kubeconfig.
- `kube_dynamic_client`: a `kubernetes.dynamic.DynamicClient` (admin), discovery cached under tmp_path.

Heavy imports happen inside the fixtures so that merely registering the plugin costs nothing.

A test that needs upstream reference files (CRD schemas, examples) that are nowhere (`reference.py`)
is reported as skipped with the instruction to run `./dev crds`; under `CI=true` it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from kubernetes.client import ApiClient
    from kubernetes.dynamic import DynamicClient

    from .emulator import KubeEmulator

READONLY_USER = "readonly"
READONLY_TOKEN = "readonly-token"


@pytest.fixture
def kube_emulator() -> Iterator[KubeEmulator]:
    from .emulator import DEFAULT_CRDS, KubeEmulator

    with KubeEmulator(crds=DEFAULT_CRDS) as emulator:
        yield emulator


@pytest.fixture
def kube_emulator_factory() -> Iterator[Callable[..., KubeEmulator]]:
    from .emulator import KubeEmulator

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
    from .rbac import read_only

    kube_emulator.add_user(READONLY_USER, token=READONLY_TOKEN, rules=read_only())
    return kube_emulator.write_kubeconfig(tmp_path / "kubeconfig", users=("admin", READONLY_USER))


@pytest.fixture
def kube_api_client(kubeconfig_path: Path) -> Iterator[Callable[..., ApiClient]]:
    import kubernetes

    # The kubernetes package ships py.typed but leaves these functions unannotated.
    new_client = cast(Callable[..., "ApiClient"], kubernetes.config.new_client_from_config)
    clients: list[ApiClient] = []

    def make(context: str | None = None) -> ApiClient:
        client = new_client(config_file=str(kubeconfig_path), context=context, persist_config=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        cast(Callable[[], None], client.close)()


@pytest.fixture
def kube_dynamic_client(kube_api_client: Callable[..., ApiClient], tmp_path: Path) -> DynamicClient:
    from kubernetes.dynamic import DynamicClient

    make = cast(Callable[..., "DynamicClient"], DynamicClient)
    return make(kube_api_client(), cache_file=str(tmp_path / "discovery-cache.json"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if call.excinfo is None or report.outcome != "failed" or os.environ.get("CI") == "true":
        return
    from .reference import missing_reference

    reason = missing_reference(call.excinfo.value)
    if reason is not None:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), (item.location[1] or 0) + 1, f"Skipped: {reason}")
