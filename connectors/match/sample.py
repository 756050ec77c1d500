"""A request a route's own match accepts: what the console fills in when the operator asks "what
happens to a request?" from a route (its host, a path its match takes, the headers and method the
match needs). Checked against the match itself; a regex path it cannot satisfy falls back to ``/``
(the explanation then says why the route passed it over)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import ValidationError
from ..model import HeaderMatch, Route, StringMatch
from ..model.secrets import is_secret_header
from .request import build
from .routing import match_reason

_FILL = "<fill in>"  # a credential the match wants is never copied onto the screen
# Regex pieces replaced by a string they accept, most specific first.
_PIECES = (
    (r"\[\^/\]\+", "x"),
    (r"\[\^/\]\*", ""),
    (r"(\\d|\[0-9\])\+", "1"),
    (r"(\\d|\[0-9\])\*", ""),
    (r"\[[a-zA-Z0-9_-]+\]\+", "x"),
    (r"\.\+", "x"),
    (r"\.\*", ""),
)


@dataclass(frozen=True)
class Sample:
    method: str
    host: str
    path: str
    headers: tuple[str, ...]


def _host(route: Route) -> str:
    exact = next((h for h in route.hosts if "*" not in h), None)
    if exact is not None:
        return exact
    wildcard = route.hosts[0] if route.hosts else "*"
    if wildcard == "*":
        return "example.com"
    return (
        wildcard.replace("*.", "www.", 1) if wildcard.startswith("*.") else wildcard.replace("*", "example")
    )


def _from_regex(pattern: str) -> str | None:
    """A string ``pattern`` fully matches, for the usual shapes of path and header regexes."""
    text = pattern.removeprefix("^").removesuffix("$")
    text = re.sub(r"\(([^()|]*)\|[^()]*\)", r"\1", text)  # (a|b) -> a
    text = re.sub(r"\([^()]*\)\?", "", text)  # (...)? -> nothing
    text = text.replace("(", "").replace(")", "")
    for piece, fill in _PIECES:
        text = re.sub(piece, fill, text)
    text = re.sub(r"\\(.)", r"\1", text)
    try:
        return text if re.fullmatch(pattern, text) else None
    except re.error:
        return None


def _value(m: StringMatch) -> str | None:
    return m.value if m.kind in ("exact", "prefix") else _from_regex(m.value)


def _header(h: HeaderMatch) -> str | None:
    if h.invert:
        return None  # an absent header satisfies an inverted match
    if is_secret_header(h.name):
        return f"{h.name}: {_FILL}"
    value = "x" if h.kind == "present" else _value(StringMatch(h.kind, h.value))
    return f"{h.name}: {value}" if value is not None else None


def sample(route: Route) -> Sample:
    """Method, host, path and headers of a request ``route``'s first match accepts."""
    host = _host(route)
    for m in route.matches or ():
        path = _value(m.path) or "/"
        method = next((x for x in m.methods if x != "*"), "GET")
        headers = tuple(h for h in (_header(x) for x in m.headers) if h is not None)
        # A credential the match wants is for the operator to type: the rest must fit.
        checked = replace(m, headers=tuple(h for h in m.headers if not is_secret_header(h.name)))
        shown = tuple(h for h in headers if not h.endswith(_FILL))
        try:
            fits = match_reason(checked, build(host=host, path=path, method=method, headers=shown)) is None
        except ValidationError:  # a value the request form would refuse: the operator types it
            fits = False
        if fits:
            return Sample(method, host, path, headers)
    first = route.matches[0] if route.matches else None
    path = (_value(first.path) if first is not None else None) or "/"
    return Sample("GET", host, path if path.startswith("/") else "/", ())
