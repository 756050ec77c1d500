"""The path a request is routed on, for ``match``: what Envoy's connection manager makes of the path
sent (``connectors.model.paths``: dot segments, merged slashes, escaped slashes, as the listener is
set), and what the operator should know about it. Clients differ before any of that: curl, browsers
and most HTTP libraries remove dot segments before sending (RFC 3986 §5.2.4), curl unless
``--path-as-is``; ``match`` sends the path byte for byte.
"""

from __future__ import annotations

import re

from ..model.paths import (
    AS_SENT,
    NORMALISED,
    UNKNOWN,
    EnvoyPath,
    PathHandling,
    envoy_path,
    split,
)

__all__ = [
    "AS_SENT",
    "NORMALISED",
    "UNKNOWN",
    "EnvoyPath",
    "PathHandling",
    "envoy_path",
    "notes",
    "remove_dot_segments",
    "split",
]


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


# What normalize_path / merge_slashes would change, and percent-encoded dots and slashes.
_DOTS = re.compile(r"(^|/)\.\.?(/|$)")
_UNUSUAL = re.compile(r"//|%2[eEfF]|%5[cC]|\\")


def notes(path: str, seen: EnvoyPath, handling: PathHandling) -> list[str]:
    """What an operator should know about how Envoy takes this path (empty for an ordinary one)."""
    head, _ = split(path)
    if not handling.known:
        if _DOTS.search(head) or _UNUSUAL.search(head):
            return [
                f"predicted on {head} as sent: how this gateway's Envoy normalises paths is the "
                "platform's setting (Istio: meshConfig.pathNormalization; Envoy Gateway: "
                "ClientTrafficPolicy spec.path), not read here"
            ]
        return []
    if seen.action == "reject":
        why = "an escaped slash" if handling.escaped_slashes == "REJECT_REQUEST" and seen.escaped else "%00"
        return [f"Envoy refuses {head} with 400 before any route ({why}; {handling.describe()})"]
    if seen.action == "redirect":
        return [
            f"Envoy answers 307 itself, Location {seen.path}: {head} has an escaped slash (%2F or %5C) "
            "and this listener's path_with_escaped_slashes_action is UNESCAPE_AND_REDIRECT; no route "
            "sees this request"
        ]
    routed, _ = split(seen.path)
    if routed != head:
        return [
            f"Envoy routes {head} as {routed} ({handling.describe()}), and forwards {routed} to the backend"
        ]
    if not handling.changes_paths and (_DOTS.search(head) or _UNUSUAL.search(head)):
        why = f" ({handling.why})" if handling.why else ""
        return [f"Envoy routes {head} as sent: this listener does not normalise paths{why}"]
    return []
