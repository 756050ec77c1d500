"""Remove secrets before anything is written to a log, the audit log or a screenshot."""

from __future__ import annotations

import re
from typing import Any

_SECRET_KEYS = re.compile(
    r"(token|secret|password|passwd|authorization|api[-_]?key|cookie|credential|"
    r"client[-_]?key|private[-_]?key|bearer)",
    re.IGNORECASE,
)
# A JWT: three base64url parts, the first starting with {"  (eyJ).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
MASK = "<redacted>"


def redact_text(text: str) -> str:
    return _BEARER.sub(r"\1" + MASK, _JWT.sub(MASK, text))


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys masked and tokens in strings removed."""
    if isinstance(value, dict):
        return {
            k: (
                MASK
                if isinstance(k, str) and _SECRET_KEYS.search(k) and v not in (None, "", [], {})
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return (
            type(value)(redact(v) for v in value)
            if isinstance(value, list)
            else tuple(redact(v) for v in value)
        )
    if isinstance(value, str):
        return redact_text(value)
    return value
