"""PATCH semantics: JSON merge patch (RFC 7386), JSON patch (RFC 6902), a simplified strategic merge patch
for built-in types, and the schema-aware merge behind server-side apply."""

from __future__ import annotations

import copy
import json
from typing import Any

from .status import ApiError, bad_request
from .structural import child_schema

JsonDict = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
CUSTOM_RESOURCE_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]

# Strategic-merge keys of the built-in list fields tests are likely to patch.
STRATEGIC_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _patch_error(detail: str) -> ApiError:
    # The server wraps json-patch application errors in a generic 422.
    return ApiError(
        422,
        "the server rejected our request due to an error in our request",
        "Invalid",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": detail}]},
    )


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer: {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _container(doc: Any, parts: list[str], op: str, path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _patch_error(f"{op} operation does not apply: doc is missing path: {path!r}")
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    node = _container(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        return node[last]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node[int(last)]
    raise _patch_error(f"{op} operation does not apply: doc is missing key: {path!r}")


def _remove(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    node = _container(doc, parts, op, path)
    last = parts[-1] if parts else ""
    if isinstance(node, dict) and last in node:
        return node.pop(last)
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node.pop(int(last))
    raise _patch_error(f"{op} operation does not apply: doc is missing key: {path!r}")


def _add(doc: Any, path: str, value: Any, op: str, *, replace: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    node = _container(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict):
        if replace and last not in node:
            raise _patch_error(f"replace operation does not apply: doc is missing key: {path!r}")
        node[last] = value
    elif isinstance(node, list):
        if last == "-" and not replace:
            node.append(value)
        elif last.isdigit() and int(last) <= len(node) - (1 if replace else 0):
            if replace:
                node[int(last)] = value
            else:
                node.insert(int(last), value)
        else:
            raise _patch_error(f"{op} operation does not apply: index out of bounds: {path!r}")
    else:
        raise _patch_error(f"{op} operation does not apply: doc is missing path: {path!r}")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902, including `test` (a failed test aborts the whole patch)."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise bad_request(f"invalid JSON patch operation: {json.dumps(operation)}")
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise bad_request(f"{op} operation missing value")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation["value"]), op, replace=False)
        elif op == "replace":
            doc = _add(doc, path, copy.deepcopy(operation["value"]), op, replace=True)
        elif op == "remove":
            _remove(doc, path, op)
        elif op == "test":
            if _get(doc, path, op) != operation["value"]:
                raise _patch_error(f"testing value {path} failed: test failed")
        elif op in ("move", "copy"):
            source = operation.get("from", "")
            value = _remove(doc, source, op) if op == "move" else copy.deepcopy(_get(doc, source, op))
            doc = _add(doc, path, value, op, replace=False)
        else:
            raise bad_request(f"Unexpected kind: {op}")
    return doc


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Merge-patch semantics plus the directives and list merge keys built-in types commonly see."""
    if isinstance(patch, dict):
        if patch.get("$patch") == "delete":
            return None
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
        result = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if key.startswith("$"):
                continue
            if value is None:
                result.pop(key, None)
                continue
            merged = strategic_merge_patch(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        return result
    merge_key = STRATEGIC_MERGE_KEYS.get(field)
    if isinstance(patch, list) and isinstance(target, list) and merge_key:
        result_list = [copy.deepcopy(item) for item in target]
        for item in patch:
            if not isinstance(item, dict) or merge_key not in item:
                result_list.append(copy.deepcopy(item))
                continue
            index = next(
                (
                    i
                    for i, old in enumerate(result_list)
                    if isinstance(old, dict) and old.get(merge_key) == item[merge_key]
                ),
                None,
            )
            if index is None:
                result_list.append(strategic_merge_patch({}, item))
            else:
                merged = strategic_merge_patch(result_list[index], item)
                if merged is None:
                    result_list.pop(index)
                else:
                    result_list[index] = merged
        return result_list
    return copy.deepcopy(patch)


def list_map_keys(schema: JsonDict | None) -> list[str] | None:
    if schema and schema.get("x-kubernetes-list-type") == "map":
        return list(schema.get("x-kubernetes-list-map-keys") or [])
    return None


def apply_merge(live: Any, config: Any, schema: JsonDict | None) -> Any:
    """Server-side apply's merge: objects merge field by field, `x-kubernetes-list-type: map` lists merge
    by their keys, `set` lists union, and atomic lists and scalars are replaced by the applied value."""
    if (
        isinstance(config, dict)
        and isinstance(live, dict)
        and (schema or {}).get("x-kubernetes-map-type") != "atomic"
    ):
        result = dict(live)
        for key, value in config.items():
            sub = child_schema(schema, key) if schema else None
            result[key] = apply_merge(live.get(key), value, sub)
        return result
    if isinstance(config, list) and isinstance(live, list) and schema:
        keys = list_map_keys(schema)
        items = schema.get("items") if isinstance(schema.get("items"), dict) else None
        if keys is not None:
            merged = [copy.deepcopy(item) for item in live]
            for item in config:
                identity = {k: item.get(k) for k in keys} if isinstance(item, dict) else None
                index = next(
                    (
                        i
                        for i, old in enumerate(merged)
                        if isinstance(old, dict) and {k: old.get(k) for k in keys} == identity
                    ),
                    None,
                )
                if index is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[index] = apply_merge(merged[index], item, items)
            return merged
        if schema.get("x-kubernetes-list-type") == "set":
            return [copy.deepcopy(v) for v in live] + [copy.deepcopy(v) for v in config if v not in live]
    return copy.deepcopy(config)
