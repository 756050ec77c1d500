"""Gateways the operator can reach, and opening a connector for one.

The console's Connect screen and the command line both use this module; concrete connector classes
are imported lazily so that listing targets stays fast and works without a cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .base import Connector
from .errors import GatewayError, NotFound
from .paths import gateways_dir

TargetKind = Literal["native", "kube"]


@dataclass(frozen=True)
class Target:
    """Something to connect to: a native gateway's state directory, or a kubeconfig context."""

    kind: TargetKind
    name: str
    location: str  # state directory (native) or context name (kube)
    namespace: str | None = None
    detail: str = ""

    @property
    def key(self) -> str:
        """Stable identifier, remembered as the operator's last choice."""
        return f"{self.kind}:{self.location}" + (f"/{self.namespace}" if self.namespace else "")


def native_targets(root: Path | None = None) -> list[Target]:
    """Native gateways started by the tool (each has a state directory with ``state.json``)."""
    root = root or gateways_dir()
    out = []
    if root.is_dir():
        for state in sorted(root.glob("*/state.json")):
            try:
                data = json.loads(state.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            detail = f"admin {data.get('admin_url', '?')}"
            out.append(
                Target("native", data.get("name", state.parent.name), str(state.parent), detail=detail)
            )
    return out


def kube_targets() -> list[Target]:
    """Kubeconfig contexts, as kubectl resolves them (KUBECONFIG, ~/.kube/config)."""
    try:
        from .kube.contexts import list_contexts
    except ImportError:
        return []
    try:
        contexts = list_contexts()
    except GatewayError:  # an unreadable kubeconfig must not stop the native targets showing
        return []
    return [Target("kube", c.name, c.name, namespace=c.namespace, detail=c.cluster) for c in contexts]


def discover_targets() -> list[Target]:
    return native_targets() + kube_targets()


def resolve(spec: str) -> Target:
    """A target from what an operator types: a native gateway's name or state directory path,
    or ``ctx:<context>[/<namespace>]``."""
    if spec.startswith("ctx:"):
        context, _, namespace = spec[4:].partition("/")
        return Target("kube", context, context, namespace=namespace or None)
    path = Path(spec).expanduser()
    if (path / "state.json").exists():
        return Target("native", path.name, str(path))
    for target in native_targets():
        if target.name == spec or Path(target.location).name == spec:
            return target
    raise NotFound(f"no gateway named {spec!r} (native gateways live in {gateways_dir()})")


def open_target(target: Target, *, readonly: bool = False) -> Connector:
    if target.kind == "native":
        from .native import NativeConnector

        return NativeConnector.attach(Path(target.location), readonly=readonly)
    from .kube import open_cluster

    return open_cluster(context=target.location, namespace=target.namespace, readonly=readonly)
