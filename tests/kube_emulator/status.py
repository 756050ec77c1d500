"""Kubernetes `Status` error bodies, worded like the real API server so clients parse them the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass(frozen=True)
class FieldError:
    """One `details.causes[]` entry; `body` is the text after `<field>: ` in the server's message."""

    reason: str
    field: str
    body: str

    def __str__(self) -> str:
        return f"{self.field}: {self.body}" if self.field else self.body


@dataclass
class ApiError(Exception):
    """Raised anywhere in request handling; the server turns it into a Status response."""

    code: int
    message: str
    reason: str = ""
    details: JsonDict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.reason:
            self.reason = _REASON_BY_CODE.get(self.code, "Unknown")

    def to_status(self) -> JsonDict:
        body: JsonDict = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(group: str, kind: str, name: str | None = None) -> JsonDict:
    details: JsonDict = {}
    if name is not None:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def qualified(plural: str, group: str) -> str:
    """`virtualservices.networking.istio.io`, or just `services` for the core group."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, f'{qualified(plural, group)} "{name}" not found', details=_details(group, plural, name)
    )


def resource_not_found() -> ApiError:
    """What the server says for a group/version/resource it does not serve (e.g. CRD not installed)."""
    return ApiError(404, "the server could not find the requested resource", details={})


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'{qualified(plural, group)} "{name}" already exists',
        "AlreadyExists",
        _details(group, plural, name),
    )


def conflict(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": '
        "the object has been modified; please apply your changes to the latest version and try again",
        "Conflict",
        _details(group, plural, name),
    )


def precondition_failed(plural: str, group: str, name: str, what: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {what}',
        "Conflict",
        _details(group, plural, name),
    )


def apply_conflict(plural: str, group: str, name: str, conflicts: list[tuple[str, str, str]]) -> ApiError:
    """Server-side apply conflicts: (manager, apiVersion, field path such as `.spec.http`)."""
    lines = [
        f'conflict with "{manager}" using {api_version}: {path}' for manager, api_version, path in conflicts
    ]
    noun = "conflict" if len(lines) == 1 else "conflicts"
    message = f"Apply failed with {len(lines)} {noun}: " + (
        lines[0] if len(lines) == 1 else "\n" + "\n".join(f"- {line}" for line in lines)
    )
    details = _details(group, plural, name)
    details["causes"] = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}" using {v}', "field": p}
        for m, v, p in conflicts
    ]
    return ApiError(409, message, "Conflict", details)


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    rendered = [str(e) for e in errors]
    aggregate = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    details = _details(group, kind, name)
    details["causes"] = [{"reason": e.reason, "message": e.body, "field": e.field} for e in errors]
    return ApiError(
        422, f'{kind}{"." + group if group else ""} "{name}" is invalid: {aggregate}', "Invalid", details
    )


def forbidden(
    user: str, verb: str, resource: str, group: str, namespace: str, name: str | None, subresource: str = ""
) -> ApiError:
    full = f"{resource}/{subresource}" if subresource else resource
    target = qualified(resource, group) + (f' "{name}"' if name else "")
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{target} is forbidden: User "{user}" cannot {verb} resource "{full}" in API group "{group}" {scope}'
    )
    return ApiError(403, message, "Forbidden", _details(group, resource, name))


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "BadRequest")


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
    )


def unsupported_media_type(accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
        "UnsupportedMediaType",
    )


def expired(message: str) -> ApiError:
    return ApiError(410, message, "Expired")


def injected(code: int, message: str | None = None) -> ApiError:
    """A fault the test asked for; wording follows what a real apiserver/load balancer returns."""
    default = {
        429: "Too many requests, please try again later.",
        500: "Internal error occurred: injected fault",
        502: "Bad gateway (injected fault)",
        503: "The server is currently unable to handle the request (injected fault)",
        504: "Timeout: request did not complete within requested timeout - context deadline exceeded",
    }.get(code, f"injected fault (HTTP {code})")
    return ApiError(code, message or default)


def success(plural: str, group: str, name: str, uid: str) -> JsonDict:
    """Body of a successful DELETE for resources that do not return the deleted object."""
    details = _details(group, plural, name)
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
