"""Map a URL path to a discovery document or to a resource target (group, version, resource, object)."""

from __future__ import annotations

from dataclasses import dataclass

from .registry import Registry, ResourceType
from .status import ApiError, resource_not_found

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Target:
    resource: ResourceType
    version: str
    namespace: str  # "" for cluster-scoped resources and for lists across all namespaces
    name: str = ""
    subresource: str = ""
    proxy_path: str = ""  # for `pods/<name>/proxy/<path>`: the path after `proxy/`

    @property
    def api_version(self) -> str:
        return self.resource.api_version(self.version)


@dataclass(frozen=True)
class Discovery:
    """A discovery path: `kind` is version | core | groups | group | group-version | health | openapi-v2 |
    openapi-v3 (`group` then holds the document's path, e.g. `apis/apps/v1`; empty for the index)."""

    kind: str
    group: str = ""
    version: str = ""


def parse(path: str, registry: Registry) -> Target | Discovery:
    parts = [p for p in path.split("/") if p]
    if parts in (["version"], ["version", ""]):
        return Discovery("version")
    if parts and parts[0] in ("healthz", "livez", "readyz"):
        return Discovery("health")
    if parts[:1] == ["openapi"] and parts[1:2] in (["v2"], ["v3"]):
        return Discovery(f"openapi-{parts[1]}", "/".join(parts[2:]))
    if parts == ["api"]:
        return Discovery("core")
    if parts == ["apis"]:
        return Discovery("groups")
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 2 and parts[0] == "apis":
        if len(parts) == 2:
            return Discovery("group", parts[1])
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise resource_not_found()
    if not rest:
        return Discovery("group-version", group, version)
    return _resource_target(group, version, rest, registry)


def _resource_target(group: str, version: str, rest: list[str], registry: Registry) -> Target:
    namespace = ""
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (group == "" and rest[2] in _NAMESPACE_SUBRESOURCES)
    ):
        namespace, rest = rest[1], rest[2:]
    proxy_path = ""
    if group == "" and len(rest) > 3 and rest[0] == "pods" and rest[2] == "proxy":
        rest, proxy_path = rest[:3], "/".join(rest[3:])
    if len(rest) > 3:
        raise resource_not_found()
    plural, name, subresource = [*rest, "", ""][:3]
    resource = registry.lookup(group, version, plural)
    if resource is None:
        raise resource_not_found()
    if namespace and not resource.namespaced:
        raise resource_not_found()
    if subresource and subresource not in resource.subresources:
        raise resource_not_found()
    if name and resource.namespaced and not namespace:
        raise resource_not_found()
    return Target(resource, version, namespace, name, subresource, proxy_path)


def require_name(target: Target) -> str:
    if not target.name:
        raise ApiError(
            405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
        )
    return target.name
