"""Secrets kept out of everything the tool writes for people: history, audit log, diffs, describe
output, the console's views and screenshots, exports and error messages.

What counts as a secret:

* values of credential-like headers, wherever a header is named: a route's header match
  (``{name: authorization, exact: "Bearer ..."}``), Envoy's matchers and header options
  (``{"key": "x-api-key", "value": ...}``), header maps (``set: {cookie: ...}``);
* values under secret-like keys (``token``, ``password``, ``api_key``, ...);
* a JSON Web Key's private members (``d p q dp dq qi k oth``), also inside an inline JWKS string;
* bearer tokens and JWTs anywhere in text, credential header lines (``authorization: ...``),
  secret query parameters (``?token=...``) and a URL's userinfo password (``https://u:PW@host``).

``is_secret_header`` is the one rule for header names: header matches, header maps, deny rules and
the tables and summaries that show them all ask it.

``redact`` masks a structure (a copy; numbers and booleans are never masked), ``redact_text`` a
string. ``unredact`` is the way back for undo: the history keeps the masked route, and undo takes
each masked value from the route as it is now, where the rest of the value still matches.
"""

from __future__ import annotations

import json
import re
from typing import Any

MASK = "<redacted>"

# Keys whose (string) value is a secret, in any mapping: header maps, state, log records.
_SECRET_KEYS = re.compile(
    r"(token|secret|password|passwd|authorization|api[-_]?key|cookie|credential|session|"
    r"client[-_]?key|private[-_]?key|bearer|signature)",
    re.IGNORECASE,
)
# Header names whose values are credentials (matched on the header's name, not a mapping key).
_SECRET_HEADER = re.compile(r"(key|token|auth|secret|session|cookie|credential|password|signature)", re.I)
# The other keys of a mapping that names a header: matcher kinds and values (model and Envoy).
_HEADER_VALUE_KEYS = frozenset(
    {
        "header",
        "exact",
        "prefix",
        "suffix",
        "contains",
        "regex",
        "value",
        "raw_value",
        "string_match",
        "exact_match",
        "prefix_match",
        "suffix_match",
        "contains_match",
        "safe_regex_match",
        "present",
        "present_match",
        "invert",
        "invert_match",
        "ignore_case",
        "treat_missing_header_as_empty",
        "type",
        "append",
        "append_action",
        "keep_empty_value",
    }
)
# The keys of a mapping that name a header (model, Envoy, deny rules: ``{header: x-api-key, value: ...}``).
_HEADER_NAME_KEYS = ("name", "key", "header")
# Keys whose value is a header map (``set: {x-upstream-auth: ...}``, a request's ``headers``).
_HEADER_MAP_KEYS = frozenset({"set", "add", "headers", "request_headers", "response_headers"})
JWK_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)(?!<redacted>)[A-Za-z0-9._~+/=-]{4,}")
# Credential headers written as text ("authorization: ...", a log line) and secret query parameters.
# Not after a dot: ``headers.request.set.authorization: a header value ...`` is a field path in a
# message, whose next word is not a secret.
_HEADER_LINE = re.compile(
    r"(?i)(?<![.\w-])((?:proxy-)?authorization|set-cookie|cookie|x-api-key|x-auth-token)"
    r"(\"?\s*[:=]\s*\"?)(?!<redacted>|(?:bearer|basic)\s)[^\s\",}]+"
)
# The password in a URL's userinfo (https://user:PASSWORD@host/...).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"']*:)(?!<redacted>)[^/\s@\"']+@")
_PARAM = re.compile(
    r"(?i)([?&;]\w*(?:token|secret|password|passwd|api[-_]?key|apikey|credential)\w*=)[^&\s\"#]+"
)
# A private JWK member in JSON text, plain or itself JSON-escaped ("d":"..." or \"d\":\"...\").
_JWK_MEMBER = re.compile(r'(\\?")(d|p|q|dp|dq|qi|k)\1(\s*:\s*)\1[^"\\]+\1')

__all__ = [
    "JWK_PRIVATE",
    "MASK",
    "Unrecoverable",
    "is_secret_header",
    "redact",
    "redact_text",
    "unredact",
]


def is_secret_header(name: str) -> bool:
    """Whether a header named ``name`` carries credentials (its value is never shown)."""
    return bool(_SECRET_HEADER.search(name))


def redact_text(text: str) -> str:
    """``text`` with bearer/basic credentials, JWTs and private JWK members masked."""
    text = _JWT.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _PARAM.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    return _JWK_MEMBER.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(1)}{MASK}{m.group(1)}", text
    )


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret (see the module docstring) masked."""
    if isinstance(value, dict):
        return _redact_mapping(value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    if isinstance(value, str):
        return _redact_string(value)
    return value


def _redact_mapping(value: dict[Any, Any], header_map: bool = False) -> dict[Any, Any]:
    if _names_secret_header(value):
        return {k: v if k in _HEADER_NAME_KEYS else _mask_strings(v) for k, v in value.items()}
    if "kty" in value:  # a JSON Web Key
        return {k: _mask_strings(v) if k in JWK_PRIVATE else redact(v) for k, v in value.items()}
    return {k: _redact_entry(k, v, header_map) for k, v in value.items()}


def _redact_entry(key: Any, value: Any, header_map: bool) -> Any:
    if isinstance(key, str) and (_SECRET_KEYS.search(key) or (header_map and is_secret_header(key))):
        return _mask_strings(value)
    if isinstance(value, dict) and key in _HEADER_MAP_KEYS:
        return _redact_mapping(value, header_map=True)
    return redact(value)


def _names_secret_header(value: dict[Any, Any]) -> bool:
    name = next((value[k] for k in _HEADER_NAME_KEYS if k in value), None)
    if not isinstance(name, str) or not is_secret_header(name):
        return False
    return all(k in _HEADER_NAME_KEYS or k in _HEADER_VALUE_KEYS for k in value)


def _mask_strings(value: Any) -> Any:
    """Every string in ``value`` masked (empty strings, numbers and booleans kept: they hide nothing)."""
    if isinstance(value, str):
        return MASK if value else value
    if isinstance(value, dict):
        return {k: _mask_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask_strings(v) for v in value)
    return value


def _redact_string(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("{") and '"kty"' in text:  # an inline JWKS or JWK
        try:
            data = json.loads(text)
        except ValueError:
            return redact_text(text)
        masked = redact(data)
        return text if masked == data else json.dumps(masked, separators=(",", ":"))
    return redact_text(text)


class Unrecoverable(ValueError):
    """A masked value that cannot be taken from the current route (it changed around the secret)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def unredact(stored: Any, current: Any, where: str = "") -> Any:
    """``stored`` (a redacted copy) with each masked value taken from ``current`` (the real value
    now), wherever ``redact(current)`` reads the same there. Raises Unrecoverable (naming the field)
    for a masked value whose surroundings changed since."""
    return _unredact(stored, redact(current), current, where)


def _unredact(stored: Any, masked: Any, real: Any, where: str) -> Any:
    if stored == masked:
        return real
    if isinstance(stored, dict) and isinstance(masked, dict) and isinstance(real, dict):
        return {
            k: _unredact(v, masked.get(k), real.get(k), f"{where}.{k}" if where else str(k))
            for k, v in stored.items()
        }
    if isinstance(stored, list) and isinstance(masked, list) and isinstance(real, list):
        return [
            _unredact(
                v, masked[i] if i < len(masked) else None, real[i] if i < len(real) else None, f"{where}[{i}]"
            )
            for i, v in enumerate(stored)
        ]
    if _holds_mask(stored):
        raise Unrecoverable(where or "value")
    return stored


def _holds_mask(value: Any) -> bool:
    if isinstance(value, str):
        return MASK in value
    if isinstance(value, dict):
        return any(_holds_mask(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_mask(v) for v in value)
    return False
