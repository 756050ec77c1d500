"""OpenAPI schemas for the built-in kinds the emulator serves, derived from the official Python client's
models (`openapi_types` and `attribute_map` are generated from the upstream OpenAPI document).

What the models keep: field names, types, nesting, maps and lists. What they lose: descriptions,
`required`, enum values and formats beyond date-time. The strategic-merge keys
(`x-kubernetes-patch-merge-key`) are added for the list fields the emulator's strategic merge patch
merges by key (`patch.STRATEGIC_MERGE_KEYS`), so kubectl's patches and the server's merge agree.
IntOrString and Quantity fields are `object` in the models and become schemas that accept any value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import kubernetes.client

from .patch import STRATEGIC_MERGE_KEYS

JsonDict = dict[str, Any]
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
# API group -> the Go package its kinds are named after in the upstream documents.
PACKAGES = {
    "": "io.k8s.api.core.v1",
    "apps": "io.k8s.api.apps.v1",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
    "authorization.k8s.io": "io.k8s.api.authorization.v1",
    "authentication.k8s.io": "io.k8s.api.authentication.v1",
}
_META_TYPES = frozenset(
    {
        "ObjectMeta",
        "ListMeta",
        "OwnerReference",
        "ManagedFieldsEntry",
        "Status",
        "StatusDetails",
        "StatusCause",
        "DeleteOptions",
        "Preconditions",
        "LabelSelector",
        "LabelSelectorRequirement",
        "Condition",
    }
)
_SCALARS: dict[str, JsonDict] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "bytes": {"type": "string", "format": "byte"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "object": {},  # IntOrString, Quantity, RawExtension: any value
}
_LIST = re.compile(r"^List\[(.+)\]$")
_DICT = re.compile(r"^Dict\[str, (.+)\]$")
_VERSION_PREFIX = re.compile(r"^(?:[A-Z][a-z]+)?V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])")


@dataclass
class SchemaSet:
    """Named schemas built from model classes; `ref_prefix` is `#/components/schemas/` (v3) or
    `#/definitions/` (v2)."""

    ref_prefix: str
    schemas: dict[str, JsonDict] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)  # model class name -> schema name

    def ref(self, name: str) -> JsonDict:
        return {"$ref": self.ref_prefix + name}

    def add_model(self, model: str, package: str) -> str:
        """Add the model class (and everything it refers to) and return its schema name. A nested class
        first met under `package` is named there (core types are added before the groups that reuse them)."""
        if model in self._names:
            return self._names[model]
        short = _VERSION_PREFIX.sub("", model)
        name = f"{META if short in _META_TYPES else package}.{short}"
        self._names[model] = name
        cls = getattr(kubernetes.client, model)
        self.schemas[name] = {}  # reserve the name first: models can refer to themselves (JSONSchemaProps)
        properties = {
            cls.attribute_map[attr]: self._type_schema(kind, package)
            for attr, kind in cls.openapi_types.items()
        }
        for key, schema in properties.items():
            if key in STRATEGIC_MERGE_KEYS and schema.get("type") == "array":
                schema["x-kubernetes-patch-merge-key"] = STRATEGIC_MERGE_KEYS[key]
                schema["x-kubernetes-patch-strategy"] = "merge"
        self.schemas[name] = {"type": "object", "properties": properties}
        return name

    def _type_schema(self, kind: str, package: str) -> JsonDict:
        if kind in _SCALARS:
            return dict(_SCALARS[kind])
        if match := _LIST.match(kind):
            return {"type": "array", "items": self._type_schema(match.group(1), package)}
        if match := _DICT.match(kind):
            return {"type": "object", "additionalProperties": self._type_schema(match.group(1), package)}
        return self.ref(self.add_model(kind, package))
