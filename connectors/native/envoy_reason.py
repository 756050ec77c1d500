"""Envoy's rejection of a config, reduced to its reason.

Envoy quotes the whole resource after the reason (the listener's JSON, inline JWKS included, or a
protobuf text dump): an operator needs the field and what is wrong with it, on one line, and a key
set must never end up in an error message, the history or the audit log.
"""

from __future__ import annotations

import re

from ..redact import redact_text

MAX_REASON = 300
# "... @ <field path>: message google.protobuf.UInt32Value, near 1:1163 (offset 1162): integer out of range"
_JSON_FIELD = re.compile(
    r"invalid JSON in \S+\s*@\s*(?P<field>\S+?):\s*message\s+\S+?,.*?\(offset\s*\d+\):\s*(?P<why>[^)]*)"
)
_PROTO_CONSTRAINT = re.compile(r"^(?P<head>.*?Proto constraint validation failed \(.*?\)):\s")


def short_reason(text: str) -> str:
    """One line: Envoy's reason without the quoted resource."""
    line = " ".join(text.split())
    # The quoted resource follows the reason as "): {..." (JSON) or "): name: ..." (a proto dump).
    for marker in ("): {", "): ["):
        cut = line.find(marker)
        if cut >= 0:
            line = line[: cut + 1]
    if m := _PROTO_CONSTRAINT.match(line):
        line = m.group("head")
    if m := _JSON_FIELD.search(line):
        line = f"{line[: m.start()]}{m.group('field')}: {m.group('why').strip()}"
        line = line.replace("Unable to parse JSON as proto (", "").rstrip(")")
    if '"keys"' in line or "-----BEGIN" in line:  # never a key set or a PEM block
        line = line.split('"keys"')[0].split("-----BEGIN")[0].rstrip(" :{[") + " (key material left out)"
    line = redact_text(line)  # a header value or token quoted in the reason
    if len(line) > MAX_REASON:
        line = line[: MAX_REASON - 1] + "…"
    return line
