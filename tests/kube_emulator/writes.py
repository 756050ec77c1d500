"""Create, update, patch, apply and delete: the API server's write path for one object.

Every write runs under the store lock so resourceVersion checks and the write are atomic.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from . import managed
from .builtin import apply_builtin_defaults
from .cluster import CRD_KEY, Cluster
from .objectmeta import metadata_errors
from .patch import (
    CUSTOM_RESOURCE_PATCH_TYPES,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from .protocol import Request
from .registry import ResourceType
from .router import Target
from .schema import CustomResourceSchema, compiled
from .status import (
    ApiError,
    FieldError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    not_found,
    precondition_failed,
    unsupported_media_type,
)

JsonDict = dict[str, Any]
_SYSTEM_FIELDS = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")
_DNS_LABEL_NAMES = {("", "namespaces"), ("", "services")}
_NAME_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class WriteOptions:
    manager: str
    dry_run: bool = False
    field_validation: str = "Warn"  # Strict | Warn | Ignore, as the `fieldValidation` query parameter
    force: bool = False
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, request: Request) -> WriteOptions:
        agent = request.headers.get("User-Agent") or "unknown"
        return cls(
            manager=request.param("fieldManager") or agent.split("/")[0].split(" ")[0],
            dry_run=request.param("dryRun") == "All",
            field_validation=request.param("fieldValidation") or "Warn",
            force=request.flag("force"),
        )


def served(obj: JsonDict, resource: ResourceType, version: str) -> JsonDict:
    """The stored object as seen through another served version (conversion strategy None)."""
    api_version = resource.api_version(version)
    return obj if obj.get("apiVersion") == api_version else {**obj, "apiVersion": api_version}


def schema_for(resource: ResourceType, version: str) -> CustomResourceSchema | None:
    openapi = resource.schemas.get(version) if resource.custom else None
    return compiled(openapi) if openapi is not None else None


def scope_of(target: Target) -> managed.Scope:
    status_only = target.subresource == "status"
    return managed.Scope(
        status_only=status_only, exclude_status=target.resource.has_status and not status_only
    )


def check_type(obj: JsonDict, target: Target) -> None:
    """Fill a missing apiVersion/kind from the URL; reject ones that disagree with it."""
    resource = target.resource
    expected = target.api_version
    obj.setdefault("apiVersion", expected)
    obj.setdefault("kind", resource.kind)
    if obj["apiVersion"] != expected:
        raise bad_request(
            f"the API version in the data ({obj['apiVersion']}) does not match the expected API version "
            f"({expected})"
        )
    if obj["kind"] != resource.kind:
        raise bad_request(
            f"the kind in the data ({obj['kind']}) does not match the expected kind ({resource.kind})"
        )
    if not isinstance(obj.setdefault("metadata", {}), dict):
        raise bad_request("metadata must be an object")


def normalize(cluster: Cluster, target: Target, obj: JsonDict, options: WriteOptions) -> None:
    """Prune unknown fields, apply defaults and validate (custom resources), or apply built-in defaults."""
    resource = target.resource
    name = obj["metadata"].get("name") or obj["metadata"].get("generateName") or ""
    errors: list[FieldError] = metadata_errors(
        obj, namespaced=None, dns_label_names=resource.key in _DNS_LABEL_NAMES
    )
    schema = schema_for(resource, target.version)
    if schema is not None:
        unknown = schema.prune(obj)
        if unknown and options.field_validation == "Strict":
            fields = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise bad_request(
                f'{resource.kind} in version "{target.version}" cannot be handled as a {resource.kind}: '
                f"strict decoding error: {fields}"
            )
        if options.field_validation != "Ignore":
            options.warnings.extend(f'unknown field "{path}"' for path in unknown)
        schema.default(obj)
        errors.extend(schema.validate(obj))
    if errors:
        raise invalid(resource.kind, resource.group, name, errors)


def _to_storage(obj: JsonDict, resource: ResourceType) -> JsonDict:
    return {**obj, "apiVersion": resource.api_version()}


def _commit(cluster: Cluster, target: Target, obj: JsonDict, options: WriteOptions) -> JsonDict:
    stored = _to_storage(obj, target.resource)
    if options.dry_run:
        return served(stored, target.resource, target.version)
    cluster.store.write(target.resource.key, stored)
    if target.resource.key == CRD_KEY:
        cluster.crd_written(stored)
    return served(stored, target.resource, target.version)


def create(
    cluster: Cluster, target: Target, body: JsonDict, options: WriteOptions, *, record: bool = True
) -> JsonDict:
    resource = target.resource
    if resource.namespaced and not target.namespace:
        raise ApiError(
            405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
        )
    obj = copy.deepcopy(body)
    check_type(obj, target)
    metadata = obj["metadata"]
    if resource.namespaced:
        if metadata.get("namespace") and metadata["namespace"] != target.namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        metadata["namespace"] = target.namespace
    else:
        metadata.pop("namespace", None)
    if metadata.get("resourceVersion"):
        raise bad_request("resourceVersion should not be set on objects to be created")
    if resource.custom and resource.has_status:
        obj.pop("status", None)  # create cannot set status when the status subresource exists
    for key in (*_SYSTEM_FIELDS, "selfLink"):
        metadata.pop(key, None)
    with cluster.store.lock:
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + "".join(random.choices(_NAME_SUFFIX, k=5))
        normalize(cluster, target, obj, options)
        if not resource.custom:
            apply_builtin_defaults(resource, obj)
        name = metadata["name"]
        if resource.namespaced and not cluster.namespace_exists(target.namespace):
            raise not_found("namespaces", "", target.namespace)
        if cluster.store.get(resource.key, target.namespace, name) is not None:
            raise already_exists(resource.plural, resource.group, name)
        metadata["uid"] = cluster.new_uid()
        metadata["creationTimestamp"] = cluster.timestamp()
        if resource.has_generation:
            metadata["generation"] = 1
        if record:
            _record_update(cluster, target, None, obj, options)
        return _commit(cluster, target, obj, options)


def _record_update(
    cluster: Cluster, target: Target, old: JsonDict | None, new: JsonDict, options: WriteOptions
) -> None:
    managed.record_update(
        old,
        new,
        manager=options.manager,
        api_version=target.api_version,
        time=cluster.timestamp(),
        schema=target.resource.schemas.get(target.version),
        scope=scope_of(target),
    )


def _spec_changed(resource: ResourceType, old: JsonDict, new: JsonDict) -> bool:
    """Generation moves when anything but metadata (and status, given a status subresource) changes."""
    skipped = {"metadata", "apiVersion", "kind"} | ({"status"} if resource.has_status else set())
    return {k: v for k, v in old.items() if k not in skipped} != {
        k: v for k, v in new.items() if k not in skipped
    }


def update(
    cluster: Cluster,
    target: Target,
    body: JsonDict,
    options: WriteOptions,
    *,
    require_resource_version: bool = True,
    record: bool = True,
) -> JsonDict:
    """PUT semantics (also the tail of every patch): optimistic concurrency, status isolation, generation."""
    resource = target.resource
    new = copy.deepcopy(body)
    check_type(new, target)
    metadata = new["metadata"]
    if metadata.get("name") != target.name:
        raise bad_request(
            f"the name of the object ({metadata['name']}) does not match the name on the URL ({target.name})"
        )
    if resource.namespaced and metadata.get("namespace") and metadata["namespace"] != target.namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    with cluster.store.lock:
        stored = cluster.store.get(resource.key, target.namespace, target.name)
        if stored is None:
            raise not_found(resource.plural, resource.group, target.name)
        old = served(stored, resource, target.version)
        sent_version = metadata.get("resourceVersion")
        if not sent_version and require_resource_version and resource.custom:
            raise invalid(
                resource.kind,
                resource.group,
                target.name,
                [
                    FieldError(
                        "FieldValueInvalid",
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        if sent_version and sent_version != old["metadata"]["resourceVersion"]:
            raise conflict(resource.plural, resource.group, target.name)
        new = _merge_system_fields(resource, target, old, new)
        normalize(cluster, target, new, options)
        if not resource.custom:  # the server defaults every write, so an update cannot drop a default
            apply_builtin_defaults(resource, new, previous=old)
        if resource.has_generation and "generation" in old["metadata"]:
            bump = _spec_changed(resource, old, new)
            new["metadata"]["generation"] = old["metadata"]["generation"] + (1 if bump else 0)
        if record:
            _record_update(cluster, target, old, new, options)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old  # a no-op write is not persisted: same resourceVersion, no watch event
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return _finish_delete(cluster, target, stored, options)
        return _commit(cluster, target, new, options)


def _merge_system_fields(resource: ResourceType, target: Target, old: JsonDict, new: JsonDict) -> JsonDict:
    metadata = new["metadata"]
    for key in _SYSTEM_FIELDS:
        if key in old["metadata"]:
            metadata[key] = copy.deepcopy(old["metadata"][key])
        else:
            metadata.pop(key, None)
    metadata["name"] = target.name
    if resource.namespaced:
        metadata["namespace"] = target.namespace
    if "managedFields" not in metadata and "managedFields" in old["metadata"]:
        metadata["managedFields"] = copy.deepcopy(old["metadata"]["managedFields"])
    if target.subresource == "status":
        # Status writes change only status; the rest of the object stays as stored.
        result = copy.deepcopy(old)
        result["metadata"]["managedFields"] = metadata.get("managedFields", [])
        if not result["metadata"]["managedFields"]:
            del result["metadata"]["managedFields"]
        if "status" in new:
            result["status"] = new["status"]
        else:
            result.pop("status", None)
        return result
    if resource.has_status:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    return new


def patch(cluster: Cluster, target: Target, request: Request, options: WriteOptions) -> JsonDict:
    resource = target.resource
    content_type = request.content_type  # apply-patch+yaml is routed to `server_side_apply.apply`
    if content_type == STRATEGIC_PATCH and resource.custom:
        raise unsupported_media_type(CUSTOM_RESOURCE_PATCH_TYPES)
    if content_type not in (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH):
        raise unsupported_media_type([*CUSTOM_RESOURCE_PATCH_TYPES, STRATEGIC_PATCH])
    document = request.document()
    with cluster.store.lock:
        stored = cluster.store.get(resource.key, target.namespace, target.name)
        if stored is None:
            raise not_found(resource.plural, resource.group, target.name)
        current = copy.deepcopy(served(stored, resource, target.version))
        if content_type == JSON_PATCH:
            patched = json_patch(current, document)
        elif not isinstance(document, dict):
            raise bad_request("a merge patch must be a JSON object")
        elif content_type == MERGE_PATCH:
            patched = merge_patch(current, document)
        else:
            patched = strategic_merge_patch(current, document)
        if not isinstance(patched, dict):
            raise bad_request("the patched document is not an object")
        return update(cluster, target, patched, options, require_resource_version=False)


def delete(cluster: Cluster, target: Target, options_body: JsonDict, options: WriteOptions) -> JsonDict:
    """Delete honouring preconditions and finalizers; returns the object as last seen."""
    resource = target.resource
    preconditions = options_body.get("preconditions") or {}
    with cluster.store.lock:
        stored = cluster.store.get(resource.key, target.namespace, target.name)
        if stored is None:
            raise not_found(resource.plural, resource.group, target.name)
        metadata = stored["metadata"]
        if preconditions.get("uid") and preconditions["uid"] != metadata.get("uid"):
            raise precondition_failed(
                resource.plural,
                resource.group,
                target.name,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {metadata.get('uid')}",
            )
        wanted = preconditions.get("resourceVersion")
        if wanted and wanted != metadata.get("resourceVersion"):
            raise precondition_failed(
                resource.plural,
                resource.group,
                target.name,
                f"Precondition failed: ResourceVersion in precondition: {wanted}, "
                f"ResourceVersion in object meta: {metadata.get('resourceVersion')}",
            )
        if options.dry_run:
            return served(stored, resource, target.version)
        if metadata.get("finalizers"):
            if metadata.get("deletionTimestamp"):
                return served(stored, resource, target.version)
            pending = copy.deepcopy(stored)
            pending["metadata"]["deletionTimestamp"] = cluster.timestamp()
            pending["metadata"]["deletionGracePeriodSeconds"] = 0
            return _commit(cluster, target, pending, options)
        return _finish_delete(cluster, target, stored, options)


def _finish_delete(cluster: Cluster, target: Target, stored: JsonDict, options: WriteOptions) -> JsonDict:
    resource = target.resource
    if options.dry_run:
        return served(stored, resource, target.version)
    gone = cluster.store.remove(resource.key, target.namespace, target.name) or stored
    if resource.key == ("", "namespaces"):
        cluster.delete_namespace_contents(target.name)
        gone = {**gone, "status": {"phase": "Terminating"}}
    elif resource.key == CRD_KEY:
        cluster.crd_deleted(gone)
    return served(gone, resource, target.version)
