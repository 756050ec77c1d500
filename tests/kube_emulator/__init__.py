"""A Kubernetes API server emulator for tests: real HTTP, upstream CRD schemas, RBAC, watch, faults.

Names are imported lazily so that registering the pytest plugin (`tests.kube_emulator.fixtures`)
does not pull in the kubernetes client for test runs that never use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import DEFAULT_CRDS, KubeEmulator
    from .faults import RequestRecord
    from .rbac import Rule, read_only
    from .schema import validate_manifest

_EXPORTS = {
    "DEFAULT_CRDS": "emulator",
    "KubeEmulator": "emulator",
    "RequestRecord": "faults",
    "Rule": "rbac",
    "read_only": "rbac",
    "validate_manifest": "schema",
}
__all__ = ["DEFAULT_CRDS", "KubeEmulator", "RequestRecord", "Rule", "read_only", "validate_manifest"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
