"""The emulated cluster's state: served types, objects, users, pod logs, clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .builtin import builtin_types
from .pod_proxy import PodProxies
from .podlogs import PodLogs
from .rbac import Authenticator
from .registry import Registry, ResourceType
from .store import Store

JsonDict = dict[str, Any]
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


def crd_status(crd: JsonDict, timestamp: str) -> JsonDict:
    storage = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
    conditions = [
        ("NamesAccepted", "NoConflicts", "no conflicts found"),
        ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ]
    return {
        "conditions": [
            {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": timestamp}
            for t, r, m in conditions
        ],
        "acceptedNames": crd["spec"]["names"],
        "storedVersions": storage,
    }


class Cluster:
    def __init__(
        self,
        *,
        history_window: int = 1000,
        server_version: str = "1.33.1",
        clock: Callable[[], datetime] | None = None,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.registry = Registry()
        for resource in builtin_types():
            self.registry.add(resource)
        self.store = Store(history_window)
        self.auth = Authenticator()
        self.logs = PodLogs()
        self.pod_proxies = PodProxies()
        self.server_version = server_version
        self.bookmark_interval = bookmark_interval
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))

    def timestamp(self) -> str:
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def new_uid(self) -> str:
        return str(uuid.uuid4())

    def install_crd(self, crd: JsonDict) -> ResourceType:
        """Store the CRD object (sharing the parsed upstream spec, which is never mutated) and serve it."""
        with self.store.lock:
            existing = self.store.get(CRD_KEY, "", crd["metadata"]["name"])
            metadata = {
                "name": crd["metadata"]["name"],
                "uid": existing["metadata"]["uid"] if existing else self.new_uid(),
                "creationTimestamp": existing["metadata"]["creationTimestamp"]
                if existing
                else self.timestamp(),
                "generation": 1,
                **{k: v for k, v in crd["metadata"].items() if k in ("labels", "annotations")},
            }
            stored = {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": metadata,
                "spec": crd["spec"],
                "status": crd_status(crd, self.timestamp()),
            }
            self.store.write(CRD_KEY, stored)
            return self.crd_written(stored)

    def crd_written(self, crd: JsonDict) -> ResourceType:
        resource = ResourceType.from_crd(crd)
        self.registry.add(resource)
        return resource

    def crd_deleted(self, crd: JsonDict) -> None:
        """Stop serving the type and delete its objects, as the real server does."""
        resource = self.registry.remove(crd["spec"]["group"], crd["spec"]["names"]["plural"])
        if resource is None:
            return
        with self.store.lock:
            for obj in self.store.objects(resource.key):
                metadata = obj["metadata"]
                self.store.remove(resource.key, metadata.get("namespace", ""), metadata["name"])

    def uninstall_crd(self, name: str) -> None:
        with self.store.lock:
            crd = self.store.remove(CRD_KEY, "", name)
        if crd is not None:
            self.crd_deleted(crd)

    def namespace_exists(self, namespace: str) -> bool:
        return self.store.get(("", "namespaces"), "", namespace) is not None

    def delete_namespace_contents(self, namespace: str) -> None:
        with self.store.lock:
            for key in self.store.resources():
                for obj in self.store.objects(key, namespace):
                    self.store.remove(key, namespace, obj["metadata"]["name"])
