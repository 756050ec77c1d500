"""Host name intersection shared by the Gateway API and Istio readers: a route's host and the host a
listener (Gateway API ``hostname``) or Istio Gateway server (``hosts``) serves."""

from __future__ import annotations


def intersect_host(route_host: str, listener_host: str | None) -> str | None:
    """The hostnames both match (None: none), the more specific one, as the Gateway API and Istio
    intersect them; a listener host of None or ``*`` serves every host."""
    if listener_host in (None, "*") or listener_host == route_host:
        return route_host
    if route_host == "*":
        return listener_host
    for wild, plain in ((listener_host, route_host), (route_host, listener_host)):
        if wild.startswith("*.") and plain.endswith(wild[1:]):
            return plain
    return None
