"""`/openapi/v2` and `/openapi/v3` documents built from the served types (CRD schemas as installed,
built-ins from the Python client's models), so kubectl can validate without `--validate=false`.

kubectl asks the OpenAPI v3 document of an object's group/version whether the PATCH operation of its
kind takes `fieldValidation`; every write operation here lists it (the emulator validates fields on the
server, `fieldValidation=Strict` included), so kubectl leaves validation to the server. kubectl's
client-side apply sends a strategic merge patch where the PATCH operation's request body lists that
type (built-ins only), a JSON merge patch elsewhere. The v2 document
is served as JSON only: clients asking for the protobuf encoding alone get 406 Not Acceptable.

Documents are built when first asked for and kept until the set of served types changes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from .openapi_builtin import META, PACKAGES, SchemaSet
from .patch import CUSTOM_RESOURCE_PATCH_TYPES, STRATEGIC_PATCH
from .registry import Registry, ResourceType

JsonDict = dict[str, Any]
V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")
_PARAMS: dict[str, tuple[str, ...]] = {
    "get": ("pretty",),
    "list": (
        "allowWatchBookmarks",
        "continue",
        "fieldSelector",
        "labelSelector",
        "limit",
        "pretty",
        "resourceVersion",
        "timeoutSeconds",
        "watch",
    ),
    "post": _WRITE_PARAMS,
    "put": _WRITE_PARAMS,
    "patch": (*_WRITE_PARAMS, "force"),
    "delete": ("dryRun", "gracePeriodSeconds", "pretty", "propagationPolicy"),
    "deletecollection": ("dryRun", "labelSelector", "fieldSelector", "gracePeriodSeconds", "pretty"),
}
_PARAM_TYPES = {
    "allowWatchBookmarks": "boolean",
    "force": "boolean",
    "watch": "boolean",
    "limit": "integer",
    "timeoutSeconds": "integer",
    "gracePeriodSeconds": "integer",
}
_OPERATION_VERBS = {
    "get": "read",
    "list": "list",
    "post": "create",
    "put": "replace",
    "patch": "patch",
    "delete": "delete",
    "deletecollection": "deletecollection",
}
_X_ACTIONS = {
    "get": "get",
    "list": "list",
    "create": "post",
    "update": "put",
    "patch": "patch",
    "delete": "delete",
    "deletecollection": "deletecollection",
}


def gv_path(group: str, version: str) -> str:
    """The key of a group/version in the v3 index: `api/v1`, `apis/<group>/<version>`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def schema_name(resource: ResourceType, version: str) -> str:
    """Upstream naming: `io.istio.networking.v1.VirtualService`, `io.k8s.api.core.v1.Namespace`."""
    if not resource.custom:
        return f"{PACKAGES[resource.group]}.{resource.kind}"
    return ".".join([*reversed(resource.group.split(".")), version, resource.kind])


def _gvk(resource: ResourceType, version: str, kind: str | None = None) -> JsonDict:
    return {"group": resource.group, "kind": kind or resource.kind, "version": version}


class _Builder:
    """One document (v2 or v3): schemas and paths for the given resources."""

    def __init__(self, v3: bool) -> None:
        self.v3 = v3
        self.schemas = SchemaSet(V3_PREFIX if v3 else V2_PREFIX)
        self.paths: dict[str, JsonDict] = {}
        for model in ("V1ObjectMeta", "V1ListMeta", "V1Status", "V1DeleteOptions"):
            self.schemas.add_model(model, META)
        self.schemas.add_model("V1PodTemplateSpec", PACKAGES[""])  # name it in core, where upstream has it

    def add(self, resource: ResourceType, version: str) -> None:
        name = self._kind_schema(resource, version)
        list_name = f"{name}List"
        self.schemas.schemas[list_name] = {
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string"},
                "items": {"type": "array", "items": self.schemas.ref(name)},
                "kind": {"type": "string"},
                "metadata": {"allOf": [self.schemas.ref(f"{META}.ListMeta")]},
            },
            "x-kubernetes-group-version-kind": [_gvk(resource, version, resource.list_kind)],
        }
        self._add_paths(resource, version, name, list_name)

    def _kind_schema(self, resource: ResourceType, version: str) -> str:
        if not resource.custom:
            name = self.schemas.add_model(f"V1{resource.kind}", PACKAGES[resource.group])
            self.schemas.schemas[name]["x-kubernetes-group-version-kind"] = [_gvk(resource, version)]
            return name
        name = schema_name(resource, version)
        upstream = resource.schemas.get(version) or {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        properties = dict(upstream.get("properties") or {})
        properties["metadata"] = {
            "allOf": [self.schemas.ref(f"{META}.ObjectMeta")],
            "description": "Standard object's metadata.",
        }
        self.schemas.schemas[name] = {
            **upstream,
            "properties": properties,
            "x-kubernetes-group-version-kind": [_gvk(resource, version)],
        }
        return name

    def _add_paths(self, resource: ResourceType, version: str, name: str, list_name: str) -> None:
        prefix = f"/apis/{resource.group}/{version}" if resource.group else f"/api/{version}"
        scope = f"{prefix}/namespaces/{{namespace}}" if resource.namespaced else prefix
        collection = f"{scope}/{resource.plural}"
        item = f"{collection}/{{name}}"
        status = f"{META}.Status"
        wanted: dict[str, dict[str, tuple[str, str]]] = {
            collection: {
                "get": ("list", list_name),
                "post": ("create", name),
                "delete": ("deletecollection", status),
            },
            item: {
                "get": ("get", name),
                "put": ("update", name),
                "patch": ("patch", name),
                "delete": ("delete", status),
            },
        }
        for sub in resource.subresources:
            sub_methods = {"get": ("get", name)}
            if sub not in ("log", "proxy"):
                sub_methods.update(put=("update", name), patch=("patch", name))
            wanted[f"{item}/{sub}"] = sub_methods
        for path, methods in wanted.items():
            sub = path.removeprefix(item).strip("/")
            operations = {
                method: self._operation(resource, version, _X_ACTIONS[verb], response, sub)
                for method, (verb, response) in methods.items()
                if verb in resource.verbs or sub
            }
            if operations:
                self.paths[path] = {**operations, "parameters": self._path_params(path)}

    def _operation(
        self, resource: ResourceType, version: str, action: str, response: str, sub: str
    ) -> JsonDict:
        """One operation; `action` is the `x-kubernetes-action` (get, list, post, put, patch, delete, ...)."""
        kind = f"{'Namespaced' if resource.namespaced else ''}{resource.kind}{sub.capitalize()}"
        operation: JsonDict = {
            "operationId": f"{_OPERATION_VERBS[action]}{kind}",
            "tags": [resource.group or "core"],
            "parameters": [self._query_param(p) for p in _PARAMS[action]],
            "responses": self._responses(response, action == "post"),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": _gvk(resource, version),
        }
        if action in ("post", "put", "patch"):
            body = {"type": "object"} if action == "patch" else self.schemas.ref(response)
            types = ["application/json", "application/yaml"]
            if action == "patch":  # kubectl sends strategic merge patches where this lists them
                types = [*CUSTOM_RESOURCE_PATCH_TYPES, *([] if resource.custom else [STRATEGIC_PATCH])]
            if self.v3:
                operation["requestBody"] = {"content": {t: {"schema": body} for t in types}, "required": True}
            else:
                operation["parameters"].append(
                    {"name": "body", "in": "body", "required": True, "schema": body}
                )
                operation["consumes"] = list(types)
        return operation

    def _responses(self, name: str, created: bool) -> JsonDict:
        codes = ("200", "201", "202") if created else ("200",)
        ref = self.schemas.ref(name)
        if self.v3:
            return {c: {"description": "OK", "content": {"application/json": {"schema": ref}}} for c in codes}
        return {c: {"description": "OK", "schema": ref} for c in codes}

    def _query_param(self, name: str) -> JsonDict:
        kind = _PARAM_TYPES.get(name, "string")
        if self.v3:
            return {"name": name, "in": "query", "schema": {"type": kind, "uniqueItems": True}}
        return {"name": name, "in": "query", "type": kind, "uniqueItems": True}

    def _path_params(self, path: str) -> list[JsonDict]:
        names = [n for n in ("name", "namespace") if f"{{{n}}}" in path]
        if self.v3:
            return [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}}
                for n in names
            ]
        return [
            {"name": n, "in": "path", "required": True, "type": "string", "uniqueItems": True} for n in names
        ]

    def document(self, server_version: str) -> JsonDict:
        info = {"title": "Kubernetes", "version": f"v{server_version}"}
        security = {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}}
        if self.v3:
            return {
                "openapi": "3.0.0",
                "info": info,
                "paths": self.paths,
                "components": {"schemas": self.schemas.schemas, "securitySchemes": security},
            }
        return {
            "swagger": "2.0",
            "info": info,
            "paths": self.paths,
            "definitions": self.schemas.schemas,
            "securityDefinitions": security,
            "security": [{"BearerToken": []}],
        }


def _encode(document: JsonDict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class OpenApi:
    """The documents of one registry, rebuilt when the served types change."""

    def __init__(self, registry: Registry, server_version: str) -> None:
        self.registry = registry
        self.server_version = server_version
        self._lock = threading.Lock()
        self._key: tuple[ResourceType, ...] = ()
        self._v3: dict[str, bytes] = {}
        self._v2: bytes | None = None

    def _current(self) -> None:
        """Drop cached documents if a type was added, removed or replaced (the types are immutable)."""
        key = tuple(sorted(self.registry.all(), key=lambda r: r.key))
        if key != self._key or not all(a is b for a, b in zip(key, self._key, strict=True)):
            self._key, self._v3, self._v2 = key, {}, None

    def _group_versions(self) -> dict[str, list[tuple[ResourceType, str]]]:
        grouped: dict[str, list[tuple[ResourceType, str]]] = {}
        for resource in self._key:
            for version in resource.versions:
                grouped.setdefault(gv_path(resource.group, version), []).append((resource, version))
        return grouped

    def _build_v3(self) -> None:
        if self._v3:
            return
        for path, members in sorted(self._group_versions().items()):
            builder = _Builder(v3=True)
            for resource, version in members:
                builder.add(resource, version)
            self._v3[path] = _encode(builder.document(self.server_version))

    def v3_index(self) -> bytes:
        with self._lock:
            self._current()
            self._build_v3()
            paths = {
                path: {
                    "serverRelativeURL": f"/openapi/v3/{path}?hash={hashlib.sha512(body).hexdigest().upper()}"
                }
                for path, body in self._v3.items()
            }
        return _encode({"paths": paths})

    def v3_group_version(self, path: str) -> bytes | None:
        """The document for `api/v1` or `apis/<group>/<version>`, or None."""
        with self._lock:
            self._current()
            self._build_v3()
            return self._v3.get(path)

    def v2(self) -> bytes:
        with self._lock:
            self._current()
            if self._v2 is None:
                builder = _Builder(v3=False)
                for members in self._group_versions().values():
                    for resource, version in members:
                        builder.add(resource, version)
                self._v2 = _encode(builder.document(self.server_version))
            return self._v2
