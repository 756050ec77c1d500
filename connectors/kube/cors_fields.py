"""CORS edits as field changes, shared by Istio's corsPolicy, the HTTPRoute CORS filter and Envoy
Gateway's SecurityPolicy: all three spell the fields alike (allowOrigins, allowMethods, ...) and differ
only in how an origin and maxAge are written."""

from __future__ import annotations

from typing import Any

from ..model import Cors
from .resources import JsonDict

_LISTS = (
    ("allowMethods", "allow_methods"),
    ("allowHeaders", "allow_headers"),
    ("exposeHeaders", "expose_headers"),
)


def cors_fields(
    old: JsonDict,
    current: Cors,
    wanted: Cors,
    *,
    origins: list[Any],
    max_age: object,
    replaces: tuple[str, ...] = (),
) -> JsonDict:
    """``old`` with only the fields whose meaning changes from ``current`` to ``wanted`` rewritten;
    fields the model does not know stay as they are. ``replaces`` are older spellings of
    allowOrigins dropped when the origins are rewritten."""
    new = dict(old)
    if current.allow_origins != wanted.allow_origins:
        for key in replaces:
            new.pop(key, None)
        new["allowOrigins"] = origins
    for key, attr in _LISTS:
        if getattr(current, attr) != getattr(wanted, attr):
            if getattr(wanted, attr):
                new[key] = list(getattr(wanted, attr))
            else:
                new.pop(key, None)
    if current.max_age != wanted.max_age:
        if wanted.max_age is None:
            new.pop("maxAge", None)
        else:
            new["maxAge"] = max_age
    if current.allow_credentials != wanted.allow_credentials:
        if wanted.allow_credentials:
            new["allowCredentials"] = True
        else:
            new.pop("allowCredentials", None)
    return new
