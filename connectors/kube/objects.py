"""Helpers for Kubernetes objects as plain dicts: labels for people, cleaned copies, YAML."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from .resources import JsonDict

# Written by the API server; never part of what an operator edits, exports or reviews.
SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGER = "gatewayctl-tui"


def label(obj: JsonDict) -> str:
    """``VirtualService default/reviews``."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind', '?')} {ns + '/' if ns else ''}{meta.get('name', '?')}"


def resource_version(obj: JsonDict | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def for_review(obj: JsonDict | None, *, keep_status: bool = False) -> JsonDict | None:
    """A copy without server bookkeeping: what a diff or ``native_objects`` shows."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for key in SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    # kubectl's last-applied copy repeats the whole object; it only adds noise to a review.
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if "annotations" in meta and not annotations:
        meta.pop("annotations")
    if not keep_status:
        out.pop("status", None)
    return out


def for_apply(obj: JsonDict) -> JsonDict:
    """A kubectl-applyable copy: apiVersion, kind, metadata (name, namespace, labels, annotations), spec."""
    cleaned = for_review(obj) or {}
    meta = cleaned.get("metadata") or {}
    keep = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
    out: JsonDict = {"apiVersion": cleaned.get("apiVersion"), "kind": cleaned.get("kind"), "metadata": keep}
    for key, value in cleaned.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            out[key] = value
    return out


def to_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)


def is_ours(obj: JsonDict) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGER
