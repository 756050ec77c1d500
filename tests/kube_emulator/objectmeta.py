"""ObjectMeta validation (names, labels, annotations) with the API server's error wording."""

from __future__ import annotations

import json
import re
from typing import Any

from .status import FieldError

_DNS1123_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_TOTAL_ANNOTATION_BYTES = 256 * 1024


def _full(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def _invalid(field: str, value: Any, detail: str) -> FieldError:
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    return FieldError("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def subdomain_errors(field: str, value: str) -> list[FieldError]:
    errors = []
    if len(value) > 253:
        errors.append(_invalid(field, value, "must be no more than 253 characters"))
    if not _full(_DNS1123_SUBDOMAIN, value):
        errors.append(
            _invalid(
                field,
                value,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                f"regex used for validation is '{_DNS1123_SUBDOMAIN}')",
            )
        )
    return errors


def _qualified_name_errors(field: str, key: str) -> list[FieldError]:
    prefix, _, name = key.rpartition("/")
    errors = []
    if prefix and (len(prefix) > 253 or not _full(_DNS1123_SUBDOMAIN, prefix)):
        errors.append(_invalid(field, key, "prefix part must be a lowercase RFC 1123 subdomain"))
    if not name or len(name) > 63 or not _full(_QUALIFIED_NAME, name):
        errors.append(
            _invalid(
                field,
                key,
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                f"with an alphanumeric character (regex used for validation is '{_QUALIFIED_NAME}') "
                "and be no more than 63 characters",
            )
        )
    return errors


def metadata_errors(
    obj: dict[str, Any], *, namespaced: bool | None, dns_label_names: bool = False
) -> list[FieldError]:
    """Errors in `metadata`; `namespaced=None` skips the namespace check (manifests may omit it)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return [FieldError("FieldValueRequired", "metadata", "Required value")]
    errors: list[FieldError] = []
    name, generate_name = metadata.get("name"), metadata.get("generateName")
    if not name and not generate_name:
        errors.append(
            FieldError(
                "FieldValueRequired", "metadata.name", "Required value: name or generateName is required"
            )
        )
    elif isinstance(name, str) and name:
        if dns_label_names and (len(name) > 63 or not _full(_DNS1123_LABEL, name)):
            errors.append(
                _invalid(
                    "metadata.name",
                    name,
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character (regex used for validation is "
                    f"'{_DNS1123_LABEL}')",
                )
            )
        elif not dns_label_names:
            errors.extend(subdomain_errors("metadata.name", name))
    namespace = metadata.get("namespace")
    if namespaced is False and namespace:
        errors.append(
            FieldError("FieldValueForbidden", "metadata.namespace", "Forbidden: not allowed on this type")
        )
    for key, value in (metadata.get("labels") or {}).items():
        errors.extend(_qualified_name_errors("metadata.labels", key))
        if not isinstance(value, str) or len(value) > 63 or not _full(_LABEL_VALUE, value):
            errors.append(
                _invalid(
                    "metadata.labels",
                    value,
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
                    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')",
                )
            )
    annotations = metadata.get("annotations") or {}
    for key, value in annotations.items():
        errors.extend(_qualified_name_errors("metadata.annotations", key))
        if not isinstance(value, str):
            errors.append(_invalid(f"metadata.annotations.{key}", value, "must be a string"))
    if sum(len(k) + len(str(v)) for k, v in annotations.items()) > _TOTAL_ANNOTATION_BYTES:
        errors.append(
            FieldError(
                "FieldValueTooLong", "metadata.annotations", "Too long: must have at most 262144 bytes"
            )
        )
    return errors
