"""Validate custom resources against their CRD's OpenAPI v3 schema, as the API server does.

The Kubernetes dialect is converted to JSON Schema (Draft 7) for the `jsonschema` library:
`nullable` becomes a `null` type alternative, `x-kubernetes-int-or-string` becomes `integer|string`,
and boolean `exclusiveMinimum/Maximum` (OpenAPI 3.0) become numeric ones. `format` is not checked
(the server checks only a few formats). CEL rules (`x-kubernetes-validations`) are NOT evaluated:
there is no CEL interpreter here, so rule-only constraints (e.g. Gateway API path prefixes) pass.

Errors use the server's field paths and wording (`spec.http[0].route[0].weight: Invalid value: ...`).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from jsonschema import Draft7Validator, ValidationError

from .crds import all_crds
from .objectmeta import metadata_errors
from .status import FieldError
from .structural import apply_defaults, child_path, format_value, list_type_errors, prune

JsonDict = dict[str, Any]

_COPIED_KEYWORDS = (
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
)
_JSON_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}

# Built-in kinds that manifests may contain next to custom resources; they have no CRD schema here.
BUILTIN_KINDS = frozenset(
    {
        ("", "Namespace"),
        ("", "Service"),
        ("", "ServiceAccount"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "Pod"),
        ("apps", "Deployment"),
    }
)


def to_json_schema(node: JsonDict) -> JsonDict:
    """Convert one Kubernetes OpenAPI v3 schema node (recursively) to JSON Schema Draft 7."""
    out: JsonDict = {}
    nullable = bool(node.get("nullable"))
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"] + (["null"] if nullable else [])
    elif "type" in node:
        out["type"] = [node["type"], "null"] if nullable else node["type"]
    if "enum" in node:
        out["enum"] = list(node["enum"]) + ([None] if nullable else [])
    for keyword in _COPIED_KEYWORDS:
        if keyword in node:
            out[keyword] = node[keyword]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(bound) is True and limit in node:
            out[bound] = out.pop(limit)
    if isinstance(node.get("properties"), dict):
        out["properties"] = {key: to_json_schema(sub) for key, sub in node["properties"].items()}
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = to_json_schema(additional)
    if isinstance(node.get("items"), dict):
        out["items"] = to_json_schema(node["items"])
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in node:
            out[combinator] = [to_json_schema(sub) for sub in node[combinator]]
    if isinstance(node.get("not"), dict):
        out["not"] = to_json_schema(node["not"])
    return out


def _render_path(parts: Any) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else child_path(path, str(part))
    return path


def _type_name(value: Any) -> str:
    return "null" if value is None else _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _to_field_errors(error: ValidationError) -> list[FieldError]:
    path = _render_path(error.absolute_path)
    where = path or "<root>"
    value, rule, instance = error.validator_value, error.validator, error.instance
    if rule == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance]
        return [
            FieldError("FieldValueRequired", child_path(path, name), "Required value") for name in missing
        ]
    if rule == "type":
        expected = value if isinstance(value, str) else " or ".join(t for t in value if t != "null")
        actual = _type_name(instance)
        body = f'Invalid value: "{actual}": {where} in body must be of type {expected}: "{actual}"'
        return [FieldError("FieldValueTypeInvalid", path, body)]
    if rule == "enum":
        allowed = ", ".join(format_value(v) for v in value if v is not None)
        body = f"Unsupported value: {format_value(instance)}: supported values: {allowed}"
        return [FieldError("FieldValueNotSupported", path, body)]
    if rule == "maxLength":
        return [FieldError("FieldValueTooLong", path, f"Too long: may not be more than {value} bytes")]
    if rule in ("maxItems", "maxProperties"):
        return [
            FieldError(
                "FieldValueTooMany", path, f"Too many: {len(instance)}: must have at most {value} items"
            )
        ]
    detail = {
        "minimum": f"should be greater than or equal to {value}",
        "exclusiveMinimum": f"should be greater than {value}",
        "maximum": f"should be less than or equal to {value}",
        "exclusiveMaximum": f"should be less than {value}",
        "minLength": f"should be at least {value} chars long",
        "pattern": f"should match '{value}'",
        "minItems": f"should have at least {value} items",
        "minProperties": f"should have at least {value} properties",
        "uniqueItems": "shouldn't contain duplicates",
        "multipleOf": f"should be a multiple of {value}",
        "oneOf": "must validate one and only one schema (oneOf)",
        "anyOf": "must validate at least one schema (anyOf)",
        "allOf": "must validate all the schemas (allOf)",
        "not": "must not validate the schema (not)",
    }.get(str(rule))
    message = f"{where} in body {detail}" if detail else error.message
    return [FieldError("FieldValueInvalid", path, f"Invalid value: {format_value(instance)}: {message}")]


class CustomResourceSchema:
    """One CRD version's schema, ready to prune, default and validate objects."""

    def __init__(self, openapi: JsonDict) -> None:
        self.openapi = openapi
        self._validator = Draft7Validator(to_json_schema(openapi))

    def prune(self, obj: JsonDict) -> list[str]:
        return prune(obj, self.openapi)

    def default(self, obj: JsonDict) -> None:
        apply_defaults(obj, self.openapi)

    def validate(self, obj: JsonDict) -> list[FieldError]:
        """Schema errors (metadata is checked separately, as ObjectMeta)."""
        body = {key: value for key, value in obj.items() if key != "metadata"}
        errors: list[FieldError] = []
        seen: set[tuple[str, str]] = set()
        for error in self._validator.iter_errors(body):
            for field_error in _to_field_errors(error):
                if (field_error.field, field_error.body) not in seen:
                    seen.add((field_error.field, field_error.body))
                    errors.append(field_error)
        errors.extend(list_type_errors(body, self.openapi))
        return errors


_compiled: dict[int, tuple[JsonDict, CustomResourceSchema]] = {}


def compiled(openapi: JsonDict) -> CustomResourceSchema:
    """Compile once per schema object (the upstream CRDs are parsed once per process, so this caches)."""
    hit = _compiled.get(id(openapi))
    if hit is None or hit[0] is not openapi:
        hit = (openapi, CustomResourceSchema(openapi))
        _compiled[id(openapi)] = hit
    return hit[1]


@lru_cache(maxsize=1)
def _crd_index() -> dict[tuple[str, str], JsonDict]:
    return {(crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd for crd in all_crds()}


def find_schema(group: str, version: str, kind: str) -> CustomResourceSchema | None:
    """The upstream schema for `group/version` `kind`, or None if no shared CRD serves it."""
    crd = _crd_index().get((group, kind))
    if crd is None:
        return None
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version and entry.get("served", True) and entry.get("schema"):
            return compiled(entry["schema"]["openAPIV3Schema"])
    return None


def validate_manifest(manifest: JsonDict, *, allow_unknown_fields: bool = False) -> list[str]:
    """Check any manifest against the upstream CRD schemas the way the API server would.

    Returns readable errors with field paths (empty when valid). Unknown fields are errors here
    (the server would silently drop them) unless `allow_unknown_fields`. Defaults are applied before
    validation, as on the server. Built-in kinds in `BUILTIN_KINDS` get ObjectMeta checks only.
    """
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        return [f"{name}: Required value" for name in ("apiVersion", "kind") if not manifest.get(name)]
    group, _, version = api_version.rpartition("/")
    obj = copy.deepcopy(manifest)
    errors = [str(e) for e in metadata_errors(obj, namespaced=None)]
    if (group, kind) in BUILTIN_KINDS:
        return errors
    schema = find_schema(group, version, kind)
    if schema is None:
        return [*errors, f'no matches for kind "{kind}" in version "{api_version}"']
    if not allow_unknown_fields:
        errors.extend(f"{path}: unknown field (the API server would drop it)" for path in schema.prune(obj))
    else:
        schema.prune(obj)
    schema.default(obj)
    errors.extend(str(e) for e in schema.validate(obj))
    return errors
