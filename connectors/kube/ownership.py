"""Who else controls an object, so the operator knows an edit may be reverted.

Controllers that reconcile routes put markers on them: Argo CD (tracking annotation or label),
Helm (managed-by label, release annotations), Flux (kustomize/helm-controller labels), Flagger
(a Canary owner reference) and Argo Rollouts (managed-by-rollouts annotation); their field
managers also show up in ``metadata.managedFields``. Each finding becomes one warning naming the
controller and the marker; the plan still goes ahead if the operator chooses.
"""

from __future__ import annotations

from .objects import label
from .resources import JsonDict

_MANAGERS = {
    "argocd-controller": "Argo CD",
    "argocd-application-controller": "Argo CD",
    "argocd": "Argo CD",
    "helm": "Helm",
    "flagger": "Flagger",
    "rollouts-controller": "Argo Rollouts",
    "argo-rollouts": "Argo Rollouts",
    "kustomize-controller": "Flux",
    "helm-controller": "Flux",
}

_CONSEQUENCE = {
    "Argo CD": "its next sync reverts changes that are not in Git (unless self-heal is off)",
    "Helm": "the next helm upgrade reverts changes that are not in the chart values",
    "Flux": "its next reconciliation reverts changes that are not in Git",
    "Flagger": "Flagger sets the canary weights itself and will overwrite them",
    "Argo Rollouts": "Argo Rollouts sets the canary weights itself and will overwrite them",
}


def controllers(obj: JsonDict) -> dict[str, str]:
    """Controller name → the marker that shows it (first marker found per controller)."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    found: dict[str, str] = {}

    def note(name: str, marker: str) -> None:
        found.setdefault(name, marker)

    if "argocd.argoproj.io/tracking-id" in annotations:
        note(
            "Argo CD",
            f"annotation argocd.argoproj.io/tracking-id={annotations['argocd.argoproj.io/tracking-id']}",
        )
    if "argocd.argoproj.io/instance" in labels:
        note("Argo CD", f"label argocd.argoproj.io/instance={labels['argocd.argoproj.io/instance']}")
    managed_by = str(labels.get("app.kubernetes.io/managed-by", ""))
    if managed_by.lower() == "helm" or "meta.helm.sh/release-name" in annotations:
        release = annotations.get("meta.helm.sh/release-name")
        note("Helm", f"release {release}" if release else "label app.kubernetes.io/managed-by=Helm")
    elif "app.kubernetes.io/instance" in labels and managed_by.lower() not in ("", "helm"):
        pass  # some other tool's instance label; the manager check below may name it
    elif "app.kubernetes.io/instance" in labels:
        # Argo CD's default label tracking uses this label (Helm charts add managed-by=Helm as well).
        note("Argo CD", f"label app.kubernetes.io/instance={labels['app.kubernetes.io/instance']}")
    for key in ("kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name"):
        if key in labels:
            note("Flux", f"label {key}={labels[key]}")
    if "rollouts.argoproj.io/managed-by-rollouts" in annotations:
        note("Argo Rollouts", f"rollout {annotations['rollouts.argoproj.io/managed-by-rollouts']}")
    for ref in meta.get("ownerReferences") or []:
        if not isinstance(ref, dict):
            continue
        api = str(ref.get("apiVersion", ""))
        if api.startswith("flagger.app/"):
            note("Flagger", f"canary {ref.get('name', '?')}")
        elif api.startswith("argoproj.io/") and ref.get("kind") == "Rollout":
            note("Argo Rollouts", f"rollout {ref.get('name', '?')}")
        elif ref.get("controller"):
            note(f"{ref.get('kind', '?')} {ref.get('name', '?')}", "owner reference (controller)")
    for entry in meta.get("managedFields") or []:
        manager = str((entry or {}).get("manager", ""))
        for prefix, name in _MANAGERS.items():
            if manager == prefix or manager.startswith(prefix + "-") or manager.startswith(prefix + "/"):
                note(name, f"field manager {manager}")
    return found


def warnings_for(obj: JsonDict) -> list[str]:
    out = []
    for name, marker in controllers(obj).items():
        consequence = _CONSEQUENCE.get(name, "its controller may revert this change")
        out.append(f"{label(obj)} is managed by {name} ({marker}): {consequence}")
    return out
