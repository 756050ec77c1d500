"""Server-side apply (`application/apply-patch+yaml`): merge the applied configuration, track field
ownership in managedFields, and refuse to take fields other managers own unless forced."""

from __future__ import annotations

import copy
from typing import Any

from . import managed
from .cluster import Cluster
from .patch import apply_merge
from .protocol import Request
from .router import Target
from .status import apply_conflict, bad_request, conflict, not_found
from .writes import WriteOptions, check_type, create, scope_of, served, update

JsonDict = dict[str, Any]


def apply(cluster: Cluster, target: Target, request: Request, options: WriteOptions) -> JsonDict:
    """Server-side apply: merge the applied configuration, track ownership, report conflicts."""
    resource = target.resource
    if not request.param("fieldManager"):
        raise bad_request("PATCH /apply: fieldManager is required for apply requests")
    config = request.object_body()
    if not config.get("apiVersion") or not config.get("kind"):
        raise bad_request("invalid object type: apiVersion and kind must be set in an applied configuration")
    check_type(config, target)
    if config["metadata"].get("name") not in (None, target.name):
        raise bad_request("the name of the object does not match the name on the URL")
    config["metadata"]["name"] = target.name
    if resource.namespaced:
        config["metadata"].setdefault("namespace", target.namespace)
    schema = resource.schemas.get(target.version)
    scope = scope_of(target)
    with cluster.store.lock:
        stored = cluster.store.get(resource.key, target.namespace, target.name)
        if stored is None:
            if target.subresource:
                raise not_found(resource.plural, resource.group, target.name)
            obj = copy.deepcopy(config)
            _record_apply(cluster, target, None, config, obj, options, [])
            return create(cluster, target, obj, options, record=False)
        live = copy.deepcopy(served(stored, resource, target.version))
        sent_version = config["metadata"].get("resourceVersion")
        if sent_version and sent_version != live["metadata"]["resourceVersion"]:
            raise conflict(resource.plural, resource.group, target.name)
        conflicts = managed.apply_conflicts(live, config, manager=options.manager, schema=schema, scope=scope)
        if conflicts and not options.force:
            raise apply_conflict(
                resource.plural,
                resource.group,
                target.name,
                [(m.name, m.api_version, managed.render_path(p)) for m, p in conflicts],
            )
        merged = apply_merge(live, config, schema)
        merged["metadata"]["managedFields"] = live["metadata"].get("managedFields", [])
        _record_apply(cluster, target, live, config, merged, options, conflicts)
        return update(cluster, target, merged, options, require_resource_version=False, record=False)


def _record_apply(
    cluster: Cluster,
    target: Target,
    live: JsonDict | None,
    config: JsonDict,
    merged: JsonDict,
    options: WriteOptions,
    forced: list[tuple[managed.Manager, managed.Path]],
) -> None:
    managed.record_apply(
        live,
        config,
        merged,
        manager=options.manager,
        api_version=target.api_version,
        time=cluster.timestamp(),
        schema=target.resource.schemas.get(target.version),
        scope=scope_of(target),
        forced=forced,
    )
