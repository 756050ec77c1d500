"""Discovery documents (`/version`, `/api`, `/apis`, `/apis/<group>/<version>`) built from the registry."""

from __future__ import annotations

import hashlib
from typing import Any

from .registry import Registry, ResourceType

JsonDict = dict[str, Any]

_SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "log": ["get"], "proxy": ["get"]}


def version_info(server_version: str) -> JsonDict:
    major, minor, *_ = server_version.split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{server_version}",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions(server_address: str) -> JsonDict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_doc(group: str, versions: list[str]) -> JsonDict:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> JsonDict:
    groups = [_group_doc(g, vs) for g, vs in sorted(registry.group_versions().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> JsonDict | None:
    versions = registry.group_versions().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(name, versions)}


def _resource_entries(resource: ResourceType) -> list[JsonDict]:
    main: JsonDict = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": list(resource.verbs),
    }
    if resource.short_names:
        main["shortNames"] = list(resource.short_names)
    if resource.categories:
        main["categories"] = list(resource.categories)
    digest = hashlib.sha256(
        f"{resource.group}/{resource.storage_version}/{resource.plural}".encode()
    ).digest()
    main["storageVersionHash"] = digest[:8].hex()
    entries = [main]
    for sub in resource.subresources:
        entries.append(
            {
                "name": f"{resource.plural}/{sub}",
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": "PodProxyOptions" if sub == "proxy" else "Pod" if sub == "log" else resource.kind,
                "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
        )
    return entries


def resource_list(registry: Registry, group_name: str, version: str) -> JsonDict | None:
    resources = registry.in_group_version(group_name, version)
    if not resources:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group_name}/{version}" if group_name else version,
        "resources": [entry for r in resources for entry in _resource_entries(r)],
    }
