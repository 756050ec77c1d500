"""What the connected user may do, asked of the API server with SelfSubjectAccessReviews.

Answers are cached for a few minutes: capabilities are asked for often (every screen refresh)
while RBAC rarely changes. The user's name comes from a SelfSubjectReview ("who am I"), falling
back to the kubeconfig's user entry when the server is too old to answer it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from ..errors import GatewayError
from .resources import Resource


@dataclass(frozen=True)
class Access:
    """A verb on a resource in a namespace, as asked of SelfSubjectAccessReview."""

    verb: str
    resource: Resource
    namespace: str

    def denial(self, user: str) -> str:
        return f"RBAC: user {user} cannot {self.verb} {self.resource.qualified} in namespace {self.namespace}"


class Rbac:
    def __init__(self, client: Any, fallback_user: str, ttl: float = 300.0) -> None:
        self._client = client
        self._fallback_user = fallback_user
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[Access, tuple[float, bool]] = {}
        self._user: str | None = None

    @property
    def user(self) -> str:
        """The authenticated user name as the API server sees it."""
        if self._user is None:
            self._user = self._whoami() or self._fallback_user
        return self._user

    def _whoami(self) -> str | None:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        try:
            review = self._client.raw(
                "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body, verb="create"
            )
        except GatewayError as exc:
            if _unauthenticated(exc):
                raise  # the credentials themselves are bad: say so now
            return None  # an older server, or one that forbids asking
        name = ((review.get("status") or {}).get("userInfo") or {}).get("username")
        return str(name) if name else None

    def allowed(self, access: Access) -> bool:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(access)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "namespace": access.namespace,
                    "verb": access.verb,
                    "group": access.resource.group,
                    "resource": access.resource.plural,
                }
            },
        }
        try:
            review = self._client.raw(
                "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body, verb="create"
            )
            ok = bool((review.get("status") or {}).get("allowed"))
        except GatewayError as exc:
            if _unauthenticated(exc):
                raise
            ok = True  # cannot tell: let the write itself report a 403 with the server's words
        with self._lock:
            self._cache[access] = (now, ok)
        return ok

    def first_denied(self, accesses: Iterable[Access]) -> str | None:
        """The reason the first forbidden access is refused, or None when all are allowed."""
        for access in accesses:
            if not self.allowed(access):
                return access.denial(self.user)
        return None

    def none_allowed(self, wanted: Iterable[Access], route: Resource | None) -> str | None:
        """Why an edit needing ``wanted`` is greyed out: the user may write none of the objects of
        a resource it needs (the policy resource; ``route``'s own only when no other is involved),
        or None. Which objects a plan writes is known after planning, and checked exactly then."""
        groups: dict[str, list[Access]] = {}
        for access in wanted:
            groups.setdefault(access.resource.qualified, []).append(access)
        if route is not None and len(groups) > 1:
            groups.pop(route.qualified, None)  # the route object is patched only now and then
        for qualified, group in groups.items():
            if all(not self.allowed(a) for a in group):
                where = sorted({a.namespace for a in group})
                verbs = "/".join(dict.fromkeys(a.verb for a in group))
                return f"RBAC: user {self.user} cannot {verbs} {qualified} in namespace {', '.join(where)}"
        return None

    def forbidden_writes(self, writes: Iterable[Any]) -> list[str]:
        """Each of ``writes`` (ObjectChanges: action, resource, namespace, name) RBAC forbids."""
        return [
            f"RBAC: user {self.user} cannot {w.action} {w.resource.qualified} {w.namespace}/{w.name}"
            for w in writes
            if not self.allowed(Access(w.action, w.resource, w.namespace))
        ]

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def _unauthenticated(exc: GatewayError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ApiException) and cause.status == 401
