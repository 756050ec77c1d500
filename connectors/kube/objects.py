"""Helpers for Kubernetes objects as plain dicts: labels for people, cleaned copies, status conditions."""

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


def conditions(obj: JsonDict) -> list[str]:
    """Status conditions as lines an operator reads, with where they come from:

    ``Accepted=True (Accepted) by gateway eg``; a condition older than the object's generation is
    marked stale (the controller has not processed the change yet).
    """
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    lines: list[str] = []

    def render(conds: Any, where: str) -> None:
        for c in conds or []:
            if not isinstance(c, dict):
                continue
            text = f"{c.get('type', '?')}={c.get('status', '?')}"
            if c.get("reason"):
                text += f" ({c['reason']})"
            if c.get("message"):
                text += f": {c['message']}"
            observed = c.get("observedGeneration")
            if generation is not None and observed is not None and observed < generation:
                text += f" [stale: observed generation {observed}, object is at {generation}]"
            lines.append(text + where)

    for parent in status.get("parents") or []:  # Gateway API routes
        ref = (parent or {}).get("parentRef") or {}
        render(parent.get("conditions"), f" — parent {ref.get('name', '?')}")
    for ancestor in status.get("ancestors") or []:  # policy attachment (Envoy Gateway)
        ref = (ancestor or {}).get("ancestorRef") or {}
        render(
            ancestor.get("conditions"), f" — ancestor {ref.get('kind', '')} {ref.get('name', '?')}".rstrip()
        )
    render(status.get("conditions"), "")
    for msg in status.get("validationMessages") or []:  # Istio analysis
        if isinstance(msg, dict):
            kind = (msg.get("type") or {}).get("code") or (msg.get("type") or {}).get("name") or ""
            lines.append(f"{msg.get('level', 'INFO')} {kind}: {msg.get('documentationUrl', '')}".strip())
    return lines


def failing_conditions(obj: JsonDict) -> list[str]:
    """Current-generation conditions that say the object is not in effect."""
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    bad: list[str] = []
    groups = [p.get("conditions") for p in status.get("parents") or [] if isinstance(p, dict)]
    groups += [a.get("conditions") for a in status.get("ancestors") or [] if isinstance(a, dict)]
    groups.append(status.get("conditions"))
    for conds in groups:
        for c in conds or []:
            if not isinstance(c, dict) or c.get("type") not in ("Accepted", "ResolvedRefs", "Programmed"):
                continue
            observed = c.get("observedGeneration")
            if generation is not None and observed is not None and observed < generation:
                continue
            if c.get("status") == "False":
                bad.append(f"{c['type']}=False ({c.get('reason', '')}): {c.get('message', '')}")
    for msg in status.get("validationMessages") or []:
        if isinstance(msg, dict) and msg.get("level") == "ERROR":
            bad.append(f"Istio validation error {(msg.get('type') or {}).get('code', '')}")
    return bad
