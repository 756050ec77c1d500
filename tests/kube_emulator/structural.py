"""Structural-schema behaviour of the API server for custom resources: pruning, defaulting, list types.

These run on the raw Kubernetes OpenAPI v3 schema (not the JSON Schema conversion) because they depend
on Kubernetes extensions such as `x-kubernetes-preserve-unknown-fields` and `x-kubernetes-list-type`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .status import FieldError

JsonDict = dict[str, Any]

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def format_value(value: Any) -> str:
    """How field errors print a value: strings quoted, numbers bare, composites by type name."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "null"
    return '"object"' if isinstance(value, dict) else '"array"'


def child_schema(schema: JsonDict, key: str) -> JsonDict | None:
    """Schema of `key` inside an object, or None when the key is not declared."""
    properties = schema.get("properties") or {}
    if key in properties:
        sub: JsonDict = properties[key]
        return sub
    additional = schema.get("additionalProperties")
    return additional if isinstance(additional, dict) else None


def keeps_unknown(schema: JsonDict) -> bool:
    return (
        bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get("additionalProperties") is True
    )


def prune(obj: JsonDict, schema: JsonDict) -> list[str]:
    """Drop, in place, every field the schema does not declare, as the server does before validating.

    Returns the dropped paths (the server reports them as `unknown field` warnings). `apiVersion`, `kind`
    and the ObjectMeta fields of `metadata` always survive; non-nullable `null`s are dropped too.
    """
    unknown: list[str] = []
    for key in list(obj):
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata":
            metadata = obj[key]
            if isinstance(metadata, dict):
                for meta_key in [k for k in metadata if k not in OBJECT_META_FIELDS]:
                    unknown.append(f"metadata.{meta_key}")
                    del metadata[meta_key]
            continue
        _prune_member(obj, key, schema, "", unknown)
    return unknown


def _prune_member(container: JsonDict, key: str, schema: JsonDict, path: str, unknown: list[str]) -> None:
    sub = child_schema(schema, key)
    if sub is None:
        if not keeps_unknown(schema):
            unknown.append(child_path(path, key))
            del container[key]
        return
    value = container[key]
    if value is None and not sub.get("nullable"):
        del container[key]
        return
    _prune_value(value, sub, child_path(path, key), unknown)


def _prune_value(value: Any, schema: JsonDict, path: str, unknown: list[str]) -> None:
    if isinstance(value, dict):
        embedded = schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            if embedded and key in ("apiVersion", "kind", "metadata"):
                continue
            _prune_member(value, key, schema, path, unknown)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                _prune_value(item, items, f"{path}[{index}]", unknown)


def apply_defaults(obj: JsonDict, schema: JsonDict) -> None:
    """Fill in `default` values, in place, for absent fields whose parent object is present."""
    for key, sub in (schema.get("properties") or {}).items():
        if key == "metadata":
            continue
        if key not in obj and "default" in sub:
            obj[key] = copy.deepcopy(sub["default"])
        if key in obj:
            _default_value(obj[key], sub)


def _default_value(value: Any, schema: JsonDict) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _default_value(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key, item in value.items():
                if key not in properties:
                    _default_value(item, additional)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                _default_value(item, items)


def list_type_errors(value: Any, schema: JsonDict, path: str = "") -> list[FieldError]:
    """Duplicate entries in `x-kubernetes-list-type: set|map` lists (JSON Schema cannot express map keys)."""
    errors: list[FieldError] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if path == "" and key == "metadata":
                continue
            sub = child_schema(schema, key)
            if sub is not None:
                errors.extend(list_type_errors(item, sub, child_path(path, key)))
    elif isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else None
        list_type = schema.get("x-kubernetes-list-type")
        seen: set[str] = set()
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if list_type in ("set", "map"):
                keys = schema.get("x-kubernetes-list-map-keys") or []
                identity = (
                    {k: item.get(k) for k in keys if k in item}
                    if list_type == "map" and isinstance(item, dict)
                    else item
                )
                marker = json.dumps(identity, sort_keys=True)
                if marker in seen:
                    shown = marker if list_type == "map" else format_value(item)
                    errors.append(FieldError("FieldValueDuplicate", item_path, f"Duplicate value: {shown}"))
                seen.add(marker)
            if items is not None:
                errors.extend(list_type_errors(item, items, item_path))
    return errors
