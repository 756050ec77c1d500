"""Durations as operators write them ("250ms", "5s", "1m", "1h30m") and as Envoy wants them ("0.25s")."""

from __future__ import annotations

import re

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")  # ASCII digits only (\d takes any script)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Return seconds for a number (seconds) or a string like ``"1m30s"``; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 5s or 1m, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a duration like 5s or 1m, got {value!r}")
    text = value.strip()
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"expected a duration like 250ms, 5s, 1m or 1h, got {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """Shortest human form: 0.25 -> "250ms", 60 -> "1m", 90 -> "90s", 3600 -> "1h"."""
    if seconds < 1 and seconds * 1000 == int(seconds * 1000):
        return f"{int(seconds * 1000)}ms"
    if seconds == int(seconds):
        s = int(seconds)
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if s >= size and s % size == 0:
                return f"{s // size}{unit}"
        return f"{s}s"
    return _exact(seconds) + "s"  # never rounded: the YAML must say what Envoy is given


def envoy_duration(seconds: float) -> str:
    """Envoy's protobuf JSON Duration form."""
    return _exact(seconds) + "s"


def _exact(seconds: float) -> str:
    """Seconds to the nanosecond, as protobuf's Duration holds them: 5420.999 -> "5420.999"."""
    return f"{seconds:.9f}".rstrip("0").rstrip(".")
