"""Bearer-token authentication and RBAC-style authorization rules."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from .status import unauthorized

READ_VERBS = ("get", "list", "watch")
ANONYMOUS = "system:anonymous"


@dataclass(frozen=True)
class Rule:
    """Like a Role rule plus where it applies: `*` is a wildcard in every position.

    `resources` may name subresources (`virtualservices/status`, `pods/log`); a plain resource name
    does not cover its subresources, as in Kubernetes RBAC. `namespaces=("*",)` also covers
    cluster-scoped requests; `("",)` means cluster scope only.
    """

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] = ("*",)
    resource_names: tuple[str, ...] = ()

    def allows(self, attrs: Attributes) -> bool:
        full = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        resource_ok = any(
            r in ("*", full) or (attrs.subresource and r == f"*/{attrs.subresource}") for r in self.resources
        )
        return (
            ("*" in self.verbs or attrs.verb in self.verbs)
            and ("*" in self.api_groups or attrs.group in self.api_groups)
            and resource_ok
            and ("*" in self.namespaces or attrs.namespace in self.namespaces)
            and (not self.resource_names or attrs.name in self.resource_names)
        )


ALLOW_ALL = (Rule(verbs=("*",)),)


def read_only(api_groups: tuple[str, ...] = ("*",), namespaces: tuple[str, ...] = ("*",)) -> tuple[Rule, ...]:
    return (Rule(verbs=READ_VERBS, api_groups=api_groups, namespaces=namespaces),)


@dataclass(frozen=True)
class Attributes:
    """What a request does, in authorization terms."""

    verb: str
    group: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""


@dataclass
class User:
    name: str
    rules: tuple[Rule, ...] = ALLOW_ALL
    groups: tuple[str, ...] = ("system:authenticated",)


@dataclass
class Authenticator:
    """Token -> user table; expired tokens are remembered so they fail with 401 rather than vanish."""

    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_user(self, name: str, *, token: str | None = None, rules: tuple[Rule, ...] = ALLOW_ALL) -> str:
        token = token or f"{name}-{secrets.token_hex(8)}"
        with self.lock:
            self.users[name] = User(name, tuple(rules))
            self.tokens[token] = name
            self.expired.discard(token)
        return token

    def set_rules(self, name: str, rules: tuple[Rule, ...]) -> None:
        with self.lock:
            self.users[name].rules = tuple(rules)

    def expire(self, token: str) -> None:
        with self.lock:
            self.expired.add(token)

    def authenticate(self, authorization: str | None) -> User:
        """The user behind an `Authorization: Bearer` header; no header means anonymous (no rules)."""
        if not authorization:
            return User(ANONYMOUS, rules=(), groups=("system:unauthenticated",))
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            name = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if name is None or token.strip() in self.expired:
                raise unauthorized()
            return self.users[name]


def authorize(user: User, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason) with a reason worded like the RBAC authorizer's."""
    for index, rule in enumerate(user.rules):
        if rule.allows(attrs):
            return True, f'RBAC: allowed by rule {index} of User "{user.name}"'
    return False, ""
