"""Edits of HTTPRoutes: backendRef weights, the standard CORS filter, and naming a rule so a
policy can target it with ``sectionName``. Only fields whose meaning changes are written."""

from __future__ import annotations

import re

from ...errors import Problem
from ...model import Cors, Route
from ..connector import Binding
from ..cors_fields import cors_fields as shared_cors_fields
from ..resources import JsonDict
from ..store import Workspace
from .read import backend_name, cors_from_filter, filter_of

GATEWAY_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"}
# Gateway API CORS origins: "*" or scheme://host[:port], host may start with "*."
_ORIGIN = re.compile(r"^(\*|https?://((\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(:[0-9]{1,5})?)$")
_SECTION = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def rule(ws: Workspace, binding: Binding) -> JsonDict:
    route = ws.edit(binding.source)
    return route["spec"]["rules"][binding.index]  # type: ignore[no-any-return]


def set_weights(ws: Workspace, binding: Binding, after: Route) -> None:
    r = rule(ws, binding)
    namespace = binding.source.namespace
    wanted = {b.name: b.weight for b in after.backends}
    for ref in r.get("backendRefs") or []:
        name = backend_name(ref, namespace)
        if name in wanted and ref.get("weight", 1) != wanted[name]:
            ref["weight"] = wanted[name]


def origin_problems(cors: Cors, path: str) -> list[Problem]:
    """What Gateway API / Envoy Gateway CORS origins cannot say: prefixes, regexes, odd forms."""
    out = []
    for i, o in enumerate(cors.allow_origins):
        if o.kind not in ("exact", "wildcard"):
            out.append(
                Problem(
                    f"{path}.cors.allow_origins[{i}]",
                    f"origins here are exact or wildcard (https://*.example.com), not {o.kind} matches",
                )
            )
        elif not _ORIGIN.match(o.value):
            out.append(
                Problem(f"{path}.cors.allow_origins[{i}]", f"{o.value!r} is not * or scheme://host[:port]")
            )
    if len(cors.allow_origins) > 1 and any(o.value == "*" for o in cors.allow_origins):
        out.append(Problem(f"{path}.cors.allow_origins", "* cannot be listed with other origins"))
    return out


def filter_problems(cors: Cors, path: str) -> list[Problem]:
    out = origin_problems(cors, path)
    for m in cors.allow_methods:
        if m not in GATEWAY_METHODS:
            out.append(
                Problem(f"{path}.cors.allow_methods", f"{m!r} is not a method the CORS filter accepts")
            )
    for key, values in (("allow_methods", cors.allow_methods), ("allow_headers", cors.allow_headers)):
        if "*" in values and len(values) > 1:
            out.append(Problem(f"{path}.cors.{key}", "* cannot be listed with other values"))
    if cors.max_age is not None and (cors.max_age < 1 or cors.max_age != int(cors.max_age)):
        out.append(Problem(f"{path}.cors.max_age", "the CORS filter takes whole seconds, at least 1"))
    return out


def cors_fields(old: JsonDict, current: Cors, wanted: Cors, *, max_age: object) -> JsonDict:
    """``old`` with the fields that differ in meaning replaced (shared by the filter and the policy)."""
    return shared_cors_fields(
        old, current, wanted, origins=[o.value for o in wanted.allow_origins], max_age=max_age
    )


def set_cors_filter(ws: Workspace, binding: Binding, wanted: Cors | None) -> None:
    r = rule(ws, binding)
    existing = filter_of(r, "CORS")
    if wanted is None:
        if existing is not None:
            r["filters"] = [f for f in r.get("filters") or [] if f is not existing]
            if not r["filters"]:
                del r["filters"]
        return
    max_age = int(wanted.max_age) if wanted.max_age is not None else None
    if existing is None:
        r.setdefault("filters", []).append(
            {"type": "CORS", "cors": cors_fields({}, Cors(), wanted, max_age=max_age)}
        )
        return
    old = existing.get("cors") if isinstance(existing.get("cors"), dict) else {}
    assert isinstance(old, dict)
    existing["cors"] = cors_fields(old, cors_from_filter(old) or Cors(), wanted, max_age=max_age)


def section_name(ws: Workspace, binding: Binding) -> str:
    """The rule's name, giving it the model route's name first if it has none."""
    r = rule(ws, binding)
    if not r.get("name"):
        name = (
            binding.route
            if _SECTION.match(binding.route)
            else re.sub(r"[^a-z0-9.-]", "-", binding.route.lower()).strip("-.")
        )
        r["name"] = name or f"rule-{binding.index}"
    return str(r["name"])
