"""The path Envoy routes on: what its HTTP connection manager makes of the path sent, before any
filter or route sees it (``ConnectionManagerUtility::maybeNormalizePath``), in this order:

1. ``path_with_escaped_slashes_action``: ``%2F``/``%5C`` (any case) in the path are unescaped to
   ``/`` and ``\\``; REJECT_REQUEST answers 400, UNESCAPE_AND_REDIRECT answers 307 to the final
   path, UNESCAPE_AND_FORWARD goes on with it, KEEP_UNCHANGED (Envoy's default) leaves them;
2. ``normalize_path``: RFC 3986 dot segments removed (``.`` and ``..``, also as ``%2e``),
   ``\\`` taken as ``/``, ``%XX`` of an unreserved character (letters, digits, ``-._~``) decoded,
   characters a path may not hold (``"<>^`{|}``...) escaped; ``%00`` is refused with 400. This is
   Envoy's snapshot of Chromium's path canonicaliser (``chromium_url/url_canon_path.cc``), after
   one step of Envoy's own: a ``.`` or ``..`` segment written with parameters (``/..;x/``) loses
   them — only for literal dots after a literal ``/`` (``/%2e%2e;x/`` and ``\\..;x/`` keep them);
3. ``merge_slashes``: runs of ``/`` become one.

The query (after ``?``) is never touched. The native listener sets all three (``NORMALISED``,
rendered by native/render_listener), so ``/static/../limited/x`` is routed — and forwarded — as
``/limited/x``; ``match`` predicts with the same functions. Each rule here was checked against Envoy
1.40 with requests sent byte for byte (tests/test_native_paths.py). Pure: no I/O.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Literal

EscapedSlashes = Literal["KEEP_UNCHANGED", "REJECT_REQUEST", "UNESCAPE_AND_REDIRECT", "UNESCAPE_AND_FORWARD"]
ESCAPED_SLASH_ACTIONS: tuple[EscapedSlashes, ...] = (
    "KEEP_UNCHANGED",
    "REJECT_REQUEST",
    "UNESCAPE_AND_REDIRECT",
    "UNESCAPE_AND_FORWARD",
)


@dataclass(frozen=True)
class PathHandling:
    """How a listener treats request paths: its HTTP connection manager's three settings.
    ``known`` False: not this tool's listener (a platform's setting); ``why``: where it comes
    from, when that is worth a note (a listener written by an older version)."""

    normalize_path: bool = False
    merge_slashes: bool = False
    escaped_slashes: EscapedSlashes = "KEEP_UNCHANGED"
    known: bool = True
    why: str = ""

    @property
    def changes_paths(self) -> bool:
        return self.normalize_path or self.merge_slashes or self.escaped_slashes != "KEEP_UNCHANGED"

    def hcm_fields(self) -> dict[str, Any]:
        """The settings as HttpConnectionManager fields."""
        return {
            "normalize_path": self.normalize_path,
            "merge_slashes": self.merge_slashes,
            "path_with_escaped_slashes_action": self.escaped_slashes,
        }

    @classmethod
    def from_hcm(cls, hcm: dict[str, Any], why: str = "") -> PathHandling:
        """From an HttpConnectionManager's config (absent fields: Envoy's defaults, all off)."""
        action = hcm.get("path_with_escaped_slashes_action", "KEEP_UNCHANGED")
        escaped: EscapedSlashes = next((a for a in ESCAPED_SLASH_ACTIONS if a == action), "KEEP_UNCHANGED")
        return cls(bool(hcm.get("normalize_path")), bool(hcm.get("merge_slashes")), escaped, why=why)

    def describe(self) -> str:
        on = [name for name in ("normalize_path", "merge_slashes") if getattr(self, name)]
        return ", ".join([*on, f"path_with_escaped_slashes_action {self.escaped_slashes}"])


# What the native listener renders. Escaped slashes are redirected rather than refused: a browser or
# `curl -L` then sends the unescaped path itself, so client, Envoy and backend agree on it; Envoy's
# edge example and Envoy Gateway's default do the same.
NORMALISED = PathHandling(True, True, "UNESCAPE_AND_REDIRECT")
AS_SENT = PathHandling()  # Envoy's defaults
UNKNOWN = PathHandling(known=False)  # a platform's listener: its settings are not read here


@dataclass(frozen=True)
class EnvoyPath:
    """What Envoy does with a path before routing: ``route`` on ``path``, answer ``redirect`` (307,
    Location ``path``) or ``reject`` it (400)."""

    path: str
    action: Literal["route", "redirect", "reject"] = "route"
    escaped: bool = False  # the path had %2F or %5C


def split(path: str) -> tuple[str, str]:
    """(path, "?query" or "")."""
    head, sep, query = path.partition("?")
    return head, sep + query


_ESCAPED_SLASH = re.compile(r"%(2[fF]|5[cC])")


def envoy_path(path: str, handling: PathHandling) -> EnvoyPath:
    """The path Envoy routes on, or its own answer, for ``path`` as sent (see the module)."""
    head, query = split(path)
    action: Literal["route", "redirect", "reject"] = "route"
    escaped = handling.escaped_slashes != "KEEP_UNCHANGED" and _ESCAPED_SLASH.search(head) is not None
    if escaped:
        if handling.escaped_slashes == "REJECT_REQUEST":
            return EnvoyPath(path, "reject", True)
        head = head.replace("%2F", "/").replace("%2f", "/").replace("%5C", "\\").replace("%5c", "\\")
        if handling.escaped_slashes == "UNESCAPE_AND_REDIRECT":
            action = "redirect"
    if handling.normalize_path:
        canonical = canonical_path(head)
        if canonical is None:
            return EnvoyPath(path, "reject", escaped)
        head = canonical
    if handling.merge_slashes:
        head = merge_slashes(head)
    return EnvoyPath(head + query, action, escaped)


def merge_slashes(path: str) -> str:
    """Envoy's ``PathUtil::mergeSlashes`` on a path without its query (``//`` stays ``//``)."""
    if "//" not in path:
        return path
    inner = "/".join(s for s in path.split("/") if s)
    return ("/" if path.startswith("/") else "") + inner + ("/" if path.endswith("/") else "")


# Chromium's path character classes (url_canon_path.cc kPathCharLookup) for 7-bit characters.
_UNESCAPE = frozenset(string.ascii_letters + string.digits + "-_~")  # decoded when sent as %XX
_ESCAPE = frozenset('"#<>?^`{|}\x7f ' + "".join(chr(c) for c in range(1, 0x20)))  # sent as %XX
_HEX = frozenset(string.hexdigits)


def _decode(text: list[str] | str, at: int) -> int | None:
    """The byte of the escape ``%XX`` at ``at``, or None when there is none."""
    if at + 3 > len(text) or text[at] != "%" or text[at + 1] not in _HEX or text[at + 2] not in _HEX:
        return None
    return int(text[at + 1] + text[at + 2], 16)


def _dot(path: str, at: int) -> int:
    """The length of a dot at ``at``: 1 for ``.``, 3 for ``%2e``/``%2E``, 0 for none."""
    if path.startswith(".", at):
        return 1
    return 3 if path[at : at + 3] in ("%2e", "%2E") else 0


def _after_dot(path: str, at: int) -> tuple[str, int]:
    """What a dot after a slash is ("cur", "up" or "name") and the characters after it it uses."""
    if at == len(path):
        return "cur", 0
    if path[at] in "/\\":
        return "cur", 1
    second = _dot(path, at)
    if second:
        if at + second == len(path):
            return "up", second
        if path[at + second] in "/\\":
            return "up", second + 1
    return "name", 0


def _back_up(out: list[str]) -> None:
    """Drop the last segment of ``out`` (which ends in ``/``), never the first slash."""
    i = len(out) - 1
    if i == 0:
        return
    i -= 1
    while out[i] != "/" and i > 0:
        i -= 1
    del out[i + 1 :]


def _nested(path: str, nxt: int, last_invalid: int, out: list[str]) -> None:
    """An escape that a decoded character completes behind an earlier lone ``%`` (``%2%46``) is
    written ``%25...`` so the output cannot be decoded again into something else."""
    length = len(out)
    last = out[-1]
    append = last_invalid == length - 2
    if append:
        if nxt == len(path) or ord(path[nxt]) >= 0x80:
            return
        out.append(path[nxt])
    if _decode(out, last_invalid) is not None:
        if not append:
            out.append(out[last_invalid + 1])
        out[last_invalid + 1 : last_invalid + 3] = ["2", "5"]
        out.append(last)
    elif append:
        del out[length:]


# A dot segment with parameters (Tomcat's "..;" trick), as Envoy 1.40 strips them before Chromium's pass.
_DOT_PARAMS = re.compile(r"/(\.\.?);[^/]*")


def canonical_path(path: str) -> str | None:
    """Envoy's ``normalize_path`` on a path without its query; None when Envoy refuses it (400).

    Long: one pass over the characters, as the canonicaliser it mirrors; split, the state it
    carries (the output and the last lone ``%``) would have to travel between the parts."""
    path = _DOT_PARAMS.sub(r"/\1", path)
    out: list[str] = []
    last_invalid = -(1 << 30)
    ok = True
    i = 0
    while i < len(path):
        c = path[i]
        dot = _dot(path, i)
        if dot:
            kind, used = _after_dot(path, i + dot) if out and out[-1] == "/" else ("name", 0)
            if kind == "name":
                out.append(".")
            elif kind == "up":
                _back_up(out)
            i += dot + used
            continue
        if c == "\\":
            out.append("/")
        elif c == "%":
            value = _decode(path, i)
            if value is None:
                last_invalid = len(out)
                out.append("%")
            else:
                if chr(value) in _UNESCAPE:
                    out.append(chr(value))
                    if last_invalid >= len(out) - 3:
                        _nested(path, i + 3, last_invalid, out)
                else:
                    out += path[i : i + 3]
                    ok = ok and value != 0
                i += 3
                continue
        elif c == "\0":
            return None
        elif c in _ESCAPE or ord(c) >= 0x80:
            out += "".join(f"%{b:02X}" for b in c.encode("utf-8"))
        else:
            out.append(c)
        i += 1
    return "".join(out) if ok else None
