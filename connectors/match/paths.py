"""The path Envoy routes on. The native listener sets neither ``normalize_path`` nor ``merge_slashes``
(Envoy's defaults are off), so Envoy routes the path exactly as it arrives: ``/static/../limited/x``
takes the route for ``/static``, not the one for ``/limited``. Clients differ: curl, browsers and
most HTTP libraries remove dot segments before sending (RFC 3986 §5.2.4), curl unless
``--path-as-is``. ``match`` predicts on the path as it will be sent and sends it byte for byte, and
says so when a client would have sent something else.
"""

from __future__ import annotations

import re

# What normalize_path / merge_slashes would change, and percent-encoded dots and slashes.
_CHANGED_BY_CLIENTS = re.compile(r"(^|/)\.\.?(/|$)")
_UNUSUAL = re.compile(r"//|%2[eEfF]|%5[cC]|\\")


def split(path: str) -> tuple[str, str]:
    """(path, "?query" or "")."""
    head, sep, query = path.partition("?")
    return head, sep + query


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 on the path part (the query is kept): what curl and browsers send."""
    head, query = split(path)
    out: list[str] = []
    segments = head.split("/")[1:]
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        elif segment == ".":
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out) + query


def notes(path: str) -> list[str]:
    """What an operator should know about how this path is routed (empty for an ordinary path)."""
    head, _ = split(path)
    out = []
    if _CHANGED_BY_CLIENTS.search(head):
        out.append(
            f"Envoy routes {head} as sent: this listener does not normalise paths (normalize_path "
            f"and merge_slashes are off); curl and browsers would send {split(remove_dot_segments(head))[0]}"
        )
    elif _UNUSUAL.search(head):
        out.append(
            f"Envoy routes {head} as sent: this listener does not normalise paths (normalize_path "
            "and merge_slashes are off), so double slashes and %2E/%2F stay as they are"
        )
    return out
