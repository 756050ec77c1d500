"""CRD schemas anywhere: `$GATEWAYCTL_CRDS`, else `../shared/crds`, else the cache `./dev crds` fills from
pinned upstream files; nowhere → the Kubernetes tests skip with that instruction (fail under CI)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kube_emulator import KubeEmulator, crds, schema
from tests.kube_emulator.pins import PINS
from tests.kube_emulator.reference import (
    PROJECT_ROOT,
    ReferenceMissing,
    crds_dir,
    examples_dir,
    fill_cache,
    shared_dir,
)


@pytest.fixture
def fresh_schemas() -> Iterator[None]:
    """The parsed CRDs are cached per process; these tests move them, so parse again before and after."""
    crds.bundle_crds.cache_clear()
    schema._crd_index.cache_clear()
    yield
    crds.bundle_crds.cache_clear()
    schema._crd_index.cache_clear()


@pytest.fixture
def source() -> Path:
    """A complete reference tree (`crds/`, `examples/`) as this session finds it, to copy from."""
    root = crds_dir().parent
    if examples_dir().parent != root:
        raise ReferenceMissing(f"{root} holds the CRDs but not the examples; cannot copy a tree from it")
    return root


@pytest.fixture
def nowhere(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No `../shared`, an empty cache, no overrides: the reference files are nowhere."""
    for name in ("GATEWAYCTL_CRDS", "GATEWAYCTL_EXAMPLES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GATEWAYCTL_SHARED_DIR", str(tmp_path / "no-shared"))
    monkeypatch.setenv("GATEWAYCTL_REFERENCE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_every_pin_matches_the_shared_file() -> None:
    for pin in PINS:
        path = shared_dir() / pin.path
        if not path.is_file():
            raise ReferenceMissing(f"{path} is not there to check its pin against")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == pin.sha256, pin.path
        assert pin.url.startswith("https://raw.githubusercontent.com/") and pin.url.endswith(".yaml")


def test_the_cache_filled_by_dev_crds_serves_an_emulator(
    source: Path, nowhere: Path, fresh_schemas: None
) -> None:
    with pytest.raises(ReferenceMissing, match=r"run \./dev crds"):
        crds_dir()
    done = subprocess.run(
        [str(PROJECT_ROOT / "dev"), "crds", "--from", str(source)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(PINS)} pinned files verified in {nowhere}" in done.stdout
    assert crds_dir() == nowhere / "crds"
    assert examples_dir() == nowhere / "examples"
    with KubeEmulator(crds=("istio",)) as emu:
        emu.load_manifests(examples_dir() / "istio" / "virtual-service-reviews-80-20.yaml")
        assert emu.get_object("networking.istio.io", "v1", "virtualservices", "default", "reviews")


def test_a_file_that_differs_from_its_pin_is_never_stored(nowhere: Path, tmp_path: Path) -> None:
    source = tmp_path / "tampered"
    for pin in PINS:
        (source / pin.path).parent.mkdir(parents=True, exist_ok=True)
        (source / pin.path).write_bytes(b"kind: Tampered\n")
    problems = fill_cache(nowhere, source)
    assert len(problems) == len(PINS)
    assert all("differs from the pinned" in line and "not stored" in line for line in problems)
    assert not list(nowhere.rglob("*.yaml"))


def test_gatewayctl_crds_wins_and_a_wrong_path_is_an_error(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_schemas: None
) -> None:
    chosen = tmp_path / "my-crds"
    assert fill_cache(tmp_path / "filled", source) == []
    (tmp_path / "filled" / "crds").rename(chosen)
    monkeypatch.setenv("GATEWAYCTL_CRDS", str(chosen))
    assert crds_dir() == chosen
    assert len(crds.select_crds(["envoy-gateway"])) == 6
    monkeypatch.setenv("GATEWAYCTL_CRDS", str(tmp_path / "typo"))
    with pytest.raises(ReferenceMissing, match="typo"):
        crds_dir()


def _pytest(env: dict[str, str], *selection: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *selection],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_without_the_files_kube_tests_skip_with_the_instruction_and_fail_under_ci(nowhere: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    selection = (
        "tests/test_kube_emulator.py::test_version_and_core_discovery",
        "tests/test_kube_access.py::test_the_flavour_follows_the_crds_the_cluster_serves",
    )
    skipped = _pytest(env, *selection)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "2 skipped" in skipped.stdout
    assert "run ./dev crds" in skipped.stdout

    failed = _pytest({**env, "CI": "true"}, *selection)
    assert failed.returncode == 1, failed.stdout
    assert "1 failed, 1 error" in failed.stdout  # one in the test body, one in a fixture's set-up
    assert "run ./dev crds" in failed.stdout
