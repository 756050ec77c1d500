"""Self-subject reviews: access (SSAR), rules (SSRR) and "who am I" (SelfSubjectReview)."""

from __future__ import annotations

from typing import Any

from .rbac import ANONYMOUS, Attributes, User, authorize
from .status import bad_request

JsonDict = dict[str, Any]
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
DISCOVERY_PATHS = ("/api", "/apis", "/openapi", *PUBLIC_PATHS)


def non_resource_allowed(user: User, path: str, verb: str) -> bool:
    """Discovery is open to every authenticated user (as `system:discovery` grants), health and version
    to anonymous users too; a user whose rules allow everything may do anything."""
    if any(r.verbs == ("*",) and r.resources == ("*",) and "*" in r.namespaces for r in user.rules):
        return True
    public = PUBLIC_PATHS if user.name == ANONYMOUS else DISCOVERY_PATHS
    return verb == "get" and any(path == p or path.startswith(p + "/") for p in public)


def access_review(user: User, body: JsonDict) -> JsonDict:
    spec = body.get("spec") or {}
    attrs = spec.get("resourceAttributes")
    if isinstance(attrs, dict):
        allowed, reason = authorize(
            user,
            Attributes(
                verb=attrs.get("verb", ""),
                group=attrs.get("group", ""),
                resource=attrs.get("resource", ""),
                namespace=attrs.get("namespace", ""),
                name=attrs.get("name", ""),
                subresource=attrs.get("subresource", ""),
            ),
        )
    elif isinstance(spec.get("nonResourceAttributes"), dict):
        path_attrs = spec["nonResourceAttributes"]
        allowed = non_resource_allowed(user, path_attrs.get("path", ""), path_attrs.get("verb", ""))
        reason = "allowed by discovery rules" if allowed else ""
    else:
        raise bad_request(
            "SelfSubjectAccessReview: exactly one of resourceAttributes or nonResourceAttributes is required"
        )
    status: JsonDict = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return {**body, "metadata": {"creationTimestamp": None}, "status": status}


def rules_review(user: User, body: JsonDict) -> JsonDict:
    namespace = (body.get("spec") or {}).get("namespace", "")
    rules = [
        {
            "verbs": list(rule.verbs),
            "apiGroups": list(rule.api_groups),
            "resources": list(rule.resources),
            **({"resourceNames": list(rule.resource_names)} if rule.resource_names else {}),
        }
        for rule in user.rules
        if "*" in rule.namespaces or namespace in rule.namespaces
    ]
    status = {
        "resourceRules": rules,
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": list(DISCOVERY_PATHS)}],
        "incomplete": False,
    }
    return {**body, "metadata": {"creationTimestamp": None}, "status": status}


def self_review(user: User, body: JsonDict) -> JsonDict:
    info = {"username": user.name, "groups": list(user.groups)}
    return {**body, "metadata": {"creationTimestamp": None}, "status": {"userInfo": info}}
