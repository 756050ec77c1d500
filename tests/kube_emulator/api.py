"""Request dispatch: faults, authentication, routing, authorization, then the verb handlers."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from . import discovery, reads, reviews, server_side_apply, writes
from .cluster import Cluster
from .faults import FaultInjector
from .openapi import OpenApi
from .patch import APPLY_PATCH
from .pod_log import pod_log
from .pod_proxy import pod_proxy
from .protocol import Request, Response
from .rbac import ANONYMOUS, Attributes, User, authorize
from .router import Discovery, Target, parse, require_name
from .status import ApiError, forbidden, method_not_allowed, resource_not_found, success
from .watch import watch

JsonDict = dict[str, Any]
_REVIEWS: dict[str, Callable[[User, JsonDict], JsonDict]] = {
    "selfsubjectaccessreviews": reviews.access_review,
    "selfsubjectrulesreviews": reviews.rules_review,
    "selfsubjectreviews": reviews.self_review,
}


def _verb(request: Request, target: Target) -> str:
    method = request.method
    if method == "GET":
        if target.name:
            return "get"
        return "watch" if request.flag("watch") else "list"
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


class Api:
    def __init__(self, cluster: Cluster, faults: FaultInjector, server_address: Callable[[], str]) -> None:
        self.cluster = cluster
        self.faults = faults
        self.server_address = server_address
        self.openapi = OpenApi(cluster.registry, cluster.server_version)

    def handle(self, request: Request) -> Response:
        try:
            delay, failure = self.faults.take(request.method, request.target)
            self._sleep(delay)
            if failure is not None:
                raise failure
            request.user = self.cluster.auth.authenticate(request.headers.get("Authorization"))
            route = parse(request.path, self.cluster.registry)
            if isinstance(route, Discovery):
                return self._discovery(route, request, request.user)
            return self._resource(route, request, request.user)
        except ApiError as error:
            return Response.error(error)
        except Exception as error:  # an emulator bug: answer like a server would, keep the traceback visible
            traceback.print_exc()
            return Response.error(ApiError(500, f"Internal error occurred: {type(error).__name__}: {error}"))

    def _sleep(self, seconds: float) -> None:
        """Injected latency; cut short when the emulator stops so shutdown never waits on it."""
        deadline = time.monotonic() + seconds
        while not self.cluster.store.closed and time.monotonic() < deadline:
            time.sleep(min(0.05, deadline - time.monotonic()))

    def _discovery(self, route: Discovery, request: Request, user: User) -> Response:
        if request.method != "GET":
            raise method_not_allowed()
        if not reviews.non_resource_allowed(user, request.path, "get"):
            raise ApiError(
                403, f'forbidden: User "{user.name}" cannot get path "{request.path}"', "Forbidden"
            )
        registry = self.cluster.registry
        document: JsonDict | None
        if route.kind == "version":
            document = discovery.version_info(self.cluster.server_version)
        elif route.kind == "health":
            return Response.text(200, "ok")
        elif route.kind.startswith("openapi"):
            return self._openapi(route, request)
        elif route.kind == "core":
            document = discovery.core_versions(self.server_address())
        elif route.kind == "groups":
            document = discovery.group_list(registry)
        elif route.kind == "group":
            document = discovery.group(registry, route.group)
        else:
            document = discovery.resource_list(registry, route.group, route.version)
        if document is None:
            raise resource_not_found()
        return Response.json(200, document)

    def _openapi(self, route: Discovery, request: Request) -> Response:
        if route.kind == "openapi-v2":
            accept = request.headers.get("Accept") or "*/*"
            if not any(t in accept for t in ("json", "*/*")):  # the protobuf encoding is not served
                raise ApiError(406, "only application/json is served for /openapi/v2", "NotAcceptable")
            body: bytes | None = None if route.group else self.openapi.v2()
        elif route.group:
            body = self.openapi.v3_group_version(route.group)
        else:
            body = self.openapi.v3_index()
        if body is None:
            raise resource_not_found()
        return Response(200, body)

    def _resource(self, target: Target, request: Request, user: User) -> Response:
        resource = target.resource
        verb = _verb(request, target)
        attrs = Attributes(
            verb, resource.group, resource.plural, target.namespace, target.name, target.subresource
        )
        is_review = resource.plural in _REVIEWS and user.name != ANONYMOUS  # every user may ask about itself
        if not is_review and not authorize(user, attrs)[0]:
            raise forbidden(
                user.name,
                verb,
                resource.plural,
                resource.group,
                target.namespace,
                target.name or None,
                target.subresource,
            )
        if target.subresource == "log":
            if verb != "get":
                raise method_not_allowed()
            return pod_log(self.cluster, target, request)
        if target.subresource == "proxy":
            return pod_proxy(self.cluster, self.cluster.pod_proxies, target, request)
        if target.subresource and verb not in ("get", "update", "patch"):
            raise method_not_allowed()
        if not target.subresource and verb not in resource.verbs:
            raise method_not_allowed()
        if is_review:
            return Response.json(201, _REVIEWS[resource.plural](user, request.object_body()))
        return self._verb(verb, target, request)

    def _verb(self, verb: str, target: Target, request: Request) -> Response:
        cluster = self.cluster
        options = writes.WriteOptions.from_request(request)
        if verb == "get":
            return Response.json(200, reads.get(cluster, target))
        if verb == "list":
            return Response.json(200, reads.list_objects(cluster, target, request))
        if verb == "watch":
            return watch(cluster, target, request)
        if verb == "create":
            if target.name:
                raise method_not_allowed()
            result, code = writes.create(cluster, target, request.object_body(), options), 201
        elif verb == "update":
            result, code = writes.update(cluster, target, request.object_body(), options), 200
        elif verb == "patch":
            existed = (
                cluster.store.get(target.resource.key, target.namespace, require_name(target)) is not None
            )
            patcher = server_side_apply.apply if request.content_type == APPLY_PATCH else writes.patch
            result, code = patcher(cluster, target, request, options), 200 if existed else 201
        elif verb == "delete":
            body = request.object_body() if request.body.strip() else {}
            options.dry_run = options.dry_run or "All" in (body.get("dryRun") or [])
            result, code = writes.delete(cluster, target, body, options), 200
            if not target.resource.custom:
                meta = result["metadata"]
                result = success(
                    target.resource.plural, target.resource.group, target.name, meta.get("uid", "")
                )
        elif verb == "deletecollection":
            result, code = self._delete_collection(target, request, options), 200
        else:
            raise method_not_allowed()
        headers = [
            ("Warning", '299 - "{}"'.format(w.replace("\\", "\\\\").replace('"', '\\"')))
            for w in options.warnings
        ]
        return Response.json(code, result, headers)

    def _delete_collection(self, target: Target, request: Request, options: writes.WriteOptions) -> JsonDict:
        listed = reads.list_objects(self.cluster, target, request)["items"]
        deleted = []
        for obj in listed:
            one = Target(
                target.resource, target.version, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            )
            try:
                deleted.append(writes.delete(self.cluster, one, {}, options))
            except ApiError as error:
                if error.code != 404:
                    raise
        if not target.resource.custom:
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
        return {
            "apiVersion": target.api_version,
            "kind": target.resource.list_kind,
            "metadata": {},
            "items": deleted,
        }
