"""httpx clients for the tool's HTTP talk with Envoy's admin, its listeners and backends.

httpx builds a TLS context for every client it makes (loading certifi's ~150 CAs: about 15 ms of
CPU), even for ``http://`` URLs and Unix sockets that never use it; the console, the CLI and the
verifier make a client per admin connection and per probe. So a client whose URLs are plain HTTP gets
a context with no CAs at all (it cannot complete a TLS handshake: an ``https://`` it should never see
fails closed), and every other client shares one context per process, identical to httpx's default
(certifi's CAs, ``trust_env`` off); a context is safe to share between threads.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping

import httpx

__all__ = ["context_for", "http_client", "http_get", "plain_http_context", "tls_context"]

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's own default pool limits."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for clients that may reach ``https://`` (certifi's CAs)."""
    return httpx.create_ssl_context(trust_env=False)


@functools.cache
def plain_http_context() -> ssl.SSLContext:
    """For clients that only speak plain HTTP: verifies hostnames and certificates but trusts no CA,
    so a TLS connection can never succeed through it."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def context_for(url: str) -> ssl.SSLContext:
    """The cheap context for a plain ``http://`` base URL, the shared CA context for anything else."""
    return plain_http_context() if url.startswith("http://") else tls_context()


def http_client(
    base_url: str = "",
    *,
    timeout: float = 5.0,
    limits: httpx.Limits = DEFAULT_LIMITS,
    transport: httpx.BaseTransport | None = None,
    follow_redirects: bool = False,
    verify: ssl.SSLContext | None = None,
) -> httpx.Client:
    """A client that ignores proxy settings from the environment (the gateway is local or named by
    the operator). Its TLS context is ``verify``, else the one ``base_url`` calls for (without a base
    URL it may be sent anywhere, so it carries the CA context)."""
    return httpx.Client(
        base_url=base_url,
        timeout=timeout,
        limits=limits,
        transport=transport,
        follow_redirects=follow_redirects,
        trust_env=False,
        verify=verify or context_for(base_url),
    )


def http_get(
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> httpx.Response:
    """One GET with a client of its own (``httpx.get`` without proxies from the environment and
    without building a TLS context for a plain-HTTP URL)."""
    with http_client(timeout=timeout, verify=context_for(url)) as client:
        return client.get(url, params=params, headers=headers)
