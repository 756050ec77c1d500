"""Ports for the demo: a fixed, documented default when it is free, any free port otherwise."""

from __future__ import annotations

import socket

from ..process import free_port

__all__ = ["free_port", "is_free", "preferred_port"]


def is_free(port: int, host: str = "127.0.0.1", *, reuse_addr: bool = True) -> bool:
    """Whether a listener could bind ``host:port`` right now. With ``reuse_addr`` (what Envoy's
    listeners and the backends set) a port with connections in TIME_WAIT counts as free; Envoy's
    admin endpoint binds without it, so check that one strictly."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if reuse_addr:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def preferred_port(
    preferred: int, taken: set[int] | None = None, host: str = "127.0.0.1", *, reuse_addr: bool = True
) -> int:
    """``preferred`` when it is free and not in ``taken``, else a free port the OS picks."""
    taken = taken or set()
    if preferred and preferred not in taken and is_free(preferred, host, reuse_addr=reuse_addr):
        return preferred
    while True:
        port = free_port(host)
        if port not in taken:
            return port
