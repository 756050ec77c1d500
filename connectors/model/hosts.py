"""Route host patterns, as Envoy reads a virtual host's domains: ``*``, a leading wildcard
(``*.example``) or a trailing one (``shop.*``), else an exact host."""

from __future__ import annotations


def covers(pattern: str, host: str) -> bool:
    """Whether a host pattern (``*``, ``*.example``, ``shop.*``) applies to ``host``; a wildcard
    needs at least one character where the ``*`` stands."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:]) and host != pattern[1:]
    if pattern.endswith("*"):
        return host.startswith(pattern[:-1]) and host != pattern[:-1]
    return pattern == host
