"""A Kubernetes API server emulator for tests: real HTTP, upstream CRD schemas, RBAC, watch, faults."""

from .emulator import DEFAULT_CRDS, KubeEmulator
from .faults import RequestRecord
from .rbac import Rule, read_only
from .schema import validate_manifest

__all__ = ["DEFAULT_CRDS", "KubeEmulator", "RequestRecord", "Rule", "read_only", "validate_manifest"]
