"""Kubeconfig contexts as kubectl resolves them, without touching credentials.

``KUBECONFIG`` may list several files (separated by ``os.pathsep``); as in kubectl, the first file
that defines a context, cluster or user wins, and the first file that sets ``current-context``
decides it. Without ``KUBECONFIG`` the file is ``~/.kube/config``. Only names are read: tokens,
keys and certificates never leave this module (``KubeContext`` has no field for them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigSyntaxError, NotFound

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class KubeContext:
    """A kubeconfig context as the Connect screen lists it (no credentials)."""

    name: str
    cluster: str
    user: str
    namespace: str = DEFAULT_NAMESPACE
    current: bool = False


def kubeconfig_paths(kubeconfig: str | None = None) -> list[Path]:
    """The files kubectl would read: the argument, else ``$KUBECONFIG``, else ``~/.kube/config``."""
    spec = kubeconfig if kubeconfig is not None else os.environ.get("KUBECONFIG", "")
    if spec:
        return [Path(p).expanduser() for p in spec.split(os.pathsep) if p.strip()]
    return [Path.home() / ".kube" / "config"]


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise NotFound(f"cannot read kubeconfig {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigSyntaxError(
            str(path), (mark.line + 1) if mark else 0, (mark.column + 1) if mark else 0, str(exc.problem)
        ) from exc
    return data if isinstance(data, dict) else {}


def merged_kubeconfig(kubeconfig: str | None = None) -> dict[str, Any]:
    """Names only: ``{"current-context": str|None, "contexts": {name: context-dict}}``."""
    current: str | None = None
    contexts: dict[str, dict[str, Any]] = {}
    for path in kubeconfig_paths(kubeconfig):
        data = _load(path)
        if current is None and data.get("current-context"):
            current = str(data["current-context"])
        for entry in data.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") and entry["name"] not in contexts:
                contexts[str(entry["name"])] = entry.get("context") or {}
    return {"current-context": current, "contexts": contexts}


def list_contexts(kubeconfig: str | None = None) -> list[KubeContext]:
    """Every context, the current one first, then the others by name (as ``kubectl config get-contexts``)."""
    merged = merged_kubeconfig(kubeconfig)
    current = merged["current-context"]
    out = []
    for name, ctx in merged["contexts"].items():
        out.append(
            KubeContext(
                name=name,
                cluster=str(ctx.get("cluster") or ""),
                user=str(ctx.get("user") or ""),
                namespace=str(ctx.get("namespace") or DEFAULT_NAMESPACE),
                current=name == current,
            )
        )
    out.sort(key=lambda c: (not c.current, c.name))
    return out


def resolve_context(name: str | None = None, kubeconfig: str | None = None) -> KubeContext:
    """The named context, or the current one. Raises NotFound naming the contexts that exist."""
    contexts = list_contexts(kubeconfig)
    if name is None:
        for ctx in contexts:
            if ctx.current:
                return ctx
        if not contexts:
            where = ", ".join(str(p) for p in kubeconfig_paths(kubeconfig))
            raise NotFound(f"no kubeconfig contexts found (looked in {where})")
        raise NotFound(
            "the kubeconfig sets no current-context; pick one of: " + ", ".join(c.name for c in contexts)
        )
    for ctx in contexts:
        if ctx.name == name:
            return ctx
    known = ", ".join(c.name for c in contexts) or "none"
    raise NotFound(f"no kubeconfig context named {name!r} (known: {known})")
