"""Remove secrets before anything is written to a log, the audit log, a screenshot or a bundle.

Masked: values under secret-looking keys (token, password, authorization, api-key, cookie...);
header objects naming such a header (``{"key": "authorization", "value": ...}``, header
matchers); the private members of JSON Web Keys (``d p q dp dq qi k oth``), also inside JSON text
such as an inline JWKS; and in free text JWTs, bearer/basic credentials, ``authorization: ...``
header lines and ``token=...``-style query parameters.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SECRET = (
    r"token|secret|password|passwd|authorization|api[-_]?key|cookie|credential|"
    r"client[-_]?key|private[-_]?key|bearer"
)
_SECRET_KEYS = re.compile(f"({_SECRET})", re.IGNORECASE)
# A JWT: three base64url parts, the first starting with {"  (eyJ).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+")
_HEADER_LINE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|set-cookie|cookie|x-api-key)(\"?\s*[:=]\s*\"?)[^\s\",}]+"
)
_PARAM = re.compile(
    r"(?i)([?&;]\w*(?:token|secret|password|passwd|api[-_]?key|apikey|credential)\w*=)[^&\s\"#]+"
)
# Private (and symmetric) members of a JSON Web Key; public keys keep n, e, x, y, crv.
JWK_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_HEADER_VALUES = ("value", "string_match", "exact", "prefix", "regex", "safe_regex", "contains")
MASK = "<redacted>"


def redact_text(text: str) -> str:
    text = _JWT.sub(MASK, text)
    text = _BEARER.sub(r"\1" + MASK, text)
    text = _HEADER_LINE.sub(r"\1\2" + MASK, text)
    text = _PARAM.sub(r"\1" + MASK, text)
    stripped = text.strip()
    if stripped[:1] in "{[" and '"kty"' in stripped:
        try:
            return json.dumps(redact(json.loads(stripped)))  # an inline JWKS held as text
        except ValueError:
            return text
    return text


def _secret_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_SECRET_KEYS.search(value))


def _redact_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    is_jwk = "kty" in value
    # A header object or matcher naming a credential header: its value is the credential.
    names_secret = any(_secret_name(value.get(k)) for k in ("key", "name", "header"))
    out = {}
    for k, v in value.items():
        empty = v in (None, "", [], {})
        if not empty and (
            (isinstance(k, str) and _SECRET_KEYS.search(k))
            or (is_jwk and k in JWK_PRIVATE)
            or (names_secret and k in _HEADER_VALUES)
        ):
            out[k] = MASK
        else:
            out[k] = redact(v)
    return out


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys masked and tokens in strings removed."""
    if isinstance(value, dict):
        return _redact_dict(value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value
