"""Durations as Kubernetes APIs accept them."""

from __future__ import annotations


def k8s_duration(seconds: float) -> str:
    """``1h``, ``90s``, ``250ms``: valid as a Go duration, a CEL duration and Gateway API's
    ``^([0-9]{1,5}(h|m|s|ms)){1,4}$`` (for values up to 99,999 of the chosen unit)."""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    if s and s % 3600 == 0:
        return f"{s // 3600}h"
    if s and s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"
