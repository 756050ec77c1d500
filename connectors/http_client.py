"""httpx clients for the tool's HTTP talk with Envoy's admin, its listeners and backends.

httpx builds a TLS context for every client it makes (loading certifi's ~150 CAs: about 15 ms of
CPU), even for ``http://`` URLs and Unix sockets that never use it; the console, the CLI and the
verifier make a client per admin connection and per probe. One context per process, built on first
use and identical to httpx's default (``trust_env`` off), serves them all; a context is safe to share
between threads.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["http_client", "tls_context"]

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's own default pool limits."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for httpx clients and transports (certifi's CAs, as httpx's default)."""
    return httpx.create_ssl_context(trust_env=False)


def http_client(
    base_url: str = "",
    *,
    timeout: float = 5.0,
    limits: httpx.Limits = DEFAULT_LIMITS,
    transport: httpx.BaseTransport | None = None,
    follow_redirects: bool = False,
) -> httpx.Client:
    """A client that ignores proxy settings from the environment (the gateway is local or named by
    the operator) and shares the process's TLS context."""
    return httpx.Client(
        base_url=base_url,
        timeout=timeout,
        limits=limits,
        transport=transport,
        follow_redirects=follow_redirects,
        trust_env=False,
        verify=tls_context(),
    )
