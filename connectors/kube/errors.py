"""Turn the API server's answers (``ApiException`` and its Status body) into the connector error tree.

Each message names what was attempted (verb, resource, namespace, object) in an operator's words:
403 names the RBAC verb and resource, 422 lists the server's field causes, 401 says the
credentials are invalid or expired. 409 becomes ChangeConflict; callers add what changed meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from ..errors import (
    ChangeConflict,
    ChangeRejected,
    ConnectionFailed,
    GatewayError,
    NotFound,
    PermissionDenied,
)
from .resources import Resource

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Request:
    """What a request does, in RBAC terms, for messages."""

    verb: str  # get, list, create, patch, delete
    resource: Resource | None = None
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def what(self) -> str:
        if self.resource is None:
            return self.path or "the API"
        if self.name:
            where = f"{self.namespace}/{self.name}" if self.namespace else self.name
            return f"{self.resource.kind} {where}"
        return self.resource.qualified + (f" in namespace {self.namespace}" if self.namespace else "")


def status_body(exc: ApiException) -> dict[str, Any]:
    """The Status object the server sent, or {} when the body is not one (e.g. a proxy's HTML page)."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def server_message(exc: ApiException) -> str:
    msg = status_body(exc).get("message")
    return str(msg) if msg else f"{exc.status} {exc.reason or ''}".strip()


def field_causes(exc: ApiException) -> list[str]:
    """``spec.http[0].route[0].weight: Invalid value: -1: ...`` lines from ``details.causes``."""
    causes = (status_body(exc).get("details") or {}).get("causes") or []
    out = []
    for cause in causes:
        if not isinstance(cause, dict):
            continue
        field, message = cause.get("field") or "", cause.get("message") or cause.get("reason") or ""
        out.append(f"{field}: {message}" if field else str(message))
    return out


def is_stale_version(exc: ApiException) -> bool:
    """409, or the 422 a JSON patch gets when its ``test`` of ``/metadata/resourceVersion`` fails."""
    if exc.status == 409:
        return status_body(exc).get("reason") != "AlreadyExists"
    if exc.status == 422:
        return any("/metadata/resourceVersion" in c and "test" in c for c in field_causes(exc))
    return False


def translate(exc: ApiException, request: Request, *, user: str, context: str, server: str) -> GatewayError:
    """The GatewayError for a non-retryable (or finally failed) response."""
    status = exc.status or 0
    message = server_message(exc)
    if status == 401:
        return PermissionDenied(
            f"the API server {server} refused the credentials of context {context!r} (401 Unauthorized): "
            "the token is invalid or has expired. Log in again (refresh the kubeconfig credentials) "
            "and reconnect."
        )
    if status == 403:
        scope = f"in namespace {request.namespace}" if request.namespace else "at cluster scope"
        resource = request.resource.qualified if request.resource else request.path
        return PermissionDenied(f"RBAC: user {user} cannot {request.verb} {resource} {scope} ({message})")
    if status == 404:
        if request.verb == "create":
            return NotFound(f"cannot create {request.what}: {message}")
        if request.name:
            return NotFound(f"{request.what} not found (it may have been deleted)")
        return NotFound(f"the cluster does not serve {request.what} (is the CRD installed?): {message}")
    if is_stale_version(exc):
        return ChangeConflict(
            f"{request.what} was changed by someone else since the plan was made; re-plan and review "
            f"the current version ({message})"
        )
    if status == 409:  # AlreadyExists
        return ChangeConflict(f"{request.what} already exists: someone created it since the plan was made")
    if status in (400, 422):
        causes = field_causes(exc)
        detail = "".join(f"\n  - {c}" for c in causes)
        return ChangeRejected(
            f"the API server rejected the {request.verb} of {request.what}: {message}{detail}"
        )
    if status in RETRYABLE_STATUS:
        return ConnectionFailed(
            f"the API server {server} kept failing to {request.verb} {request.what} ({status}: {message})"
        )
    return GatewayError(f"{request.verb} {request.what} failed: {status} {message}")
