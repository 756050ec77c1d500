"""Built-in (non-CRD) resource types the emulator serves, and the server-side defaults they get."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from .registry import ResourceType

JsonDict = dict[str, Any]

_MUTABLE = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_CREATE_ONLY = ("create",)


def builtin_types() -> list[ResourceType]:
    def core(plural: str, kind: str, **extra: Any) -> ResourceType:
        return ResourceType(
            group="",
            plural=plural,
            singular=kind.lower(),
            kind=kind,
            namespaced=extra.pop("namespaced", True),
            versions=("v1",),
            storage_version="v1",
            has_generation=False,
            **extra,
        )

    return [
        core(
            "namespaces",
            "Namespace",
            namespaced=False,
            verbs=tuple(v for v in _MUTABLE if v != "deletecollection"),
            subresources=("status",),
            short_names=("ns",),
        ),
        core("services", "Service", subresources=("status",), short_names=("svc",), categories=("all",)),
        core(
            "pods", "Pod", subresources=("log", "proxy", "status"), short_names=("po",), categories=("all",)
        ),
        core("configmaps", "ConfigMap", short_names=("cm",)),
        core("secrets", "Secret"),
        core("serviceaccounts", "ServiceAccount", short_names=("sa",)),
        ResourceType(
            group="apps",
            plural="deployments",
            singular="deployment",
            kind="Deployment",
            namespaced=True,
            versions=("v1",),
            storage_version="v1",
            subresources=("status",),
            short_names=("deploy",),
            categories=("all",),
        ),
        ResourceType(
            group="apiextensions.k8s.io",
            plural="customresourcedefinitions",
            singular="customresourcedefinition",
            kind="CustomResourceDefinition",
            namespaced=False,
            versions=("v1",),
            storage_version="v1",
            subresources=("status",),
            short_names=("crd", "crds"),
            categories=("api-extensions",),
        ),
        *(
            ResourceType(
                group=group,
                plural=plural,
                singular=kind.lower(),
                kind=kind,
                namespaced=False,
                versions=("v1",),
                storage_version="v1",
                verbs=_CREATE_ONLY,
                has_generation=False,
            )
            for group, plural, kind in (
                ("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview"),
                ("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview"),
                ("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview"),
            )
        ),
    ]


# Field selectors each built-in type accepts beyond metadata.name/metadata.namespace.
EXTRA_FIELD_SELECTORS: dict[tuple[str, str], frozenset[str]] = {
    ("", "pods"): frozenset(
        {"status.phase", "spec.nodeName", "spec.serviceAccountName", "spec.restartPolicy"}
    ),
    ("", "secrets"): frozenset({"type"}),
    ("", "namespaces"): frozenset({"status.phase"}),
}

_cluster_ips = itertools.count(10)


def apply_builtin_defaults(resource: ResourceType, obj: JsonDict, previous: JsonDict | None = None) -> None:
    """The defaults the real server (and its controllers) fill in on every write for the types tests use;
    on an update (`previous`) a Service keeps the cluster IP it was given."""
    key = resource.key
    if key == ("", "services") and previous is not None:
        old_spec, spec = previous.get("spec") or {}, obj.setdefault("spec", {})
        for field in ("clusterIP", "clusterIPs"):
            if field in old_spec and field not in spec:
                spec[field] = copy.deepcopy(old_spec[field])
    if key == ("", "namespaces"):
        name = obj["metadata"]["name"]
        obj["metadata"].setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", name)
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif key == ("", "services"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec.get("clusterIP") != "None":
            n = next(_cluster_ips)
            spec.setdefault("clusterIP", f"10.96.{n // 250 % 250}.{n % 250 + 1}")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        obj.setdefault("status", {"loadBalancer": {}})
    elif key == ("", "pods"):
        obj.setdefault("status", {}).setdefault("phase", "Pending")
    elif key == ("apps", "deployments"):
        obj.setdefault("spec", {}).setdefault("replicas", 1)
    elif key == ("", "secrets"):
        obj.setdefault("type", "Opaque")
