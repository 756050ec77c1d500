"""What a gateway gives its metrics source: the typed contract between connectors and ``metrics``.

A connector describes what it can offer in ``MetricsHooks`` (``Measured.metrics_hooks()``);
``connectors.metrics.metrics_for`` picks a source from what is there, never from the connector's
kind. The metrics package imports this module and the model, nothing of a connector; a connector
imports this module, not the metrics package (its factory wires the source to it).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable

import httpx

from .http_client import context_for, http_client, plain_http_context

ClusterNames = Mapping[str, tuple[str, str]]
"""Envoy cluster name -> (route, backend): per-route, per-backend series of ``envoy_cluster_*``."""
IstioDestinations = Mapping[tuple[str, str], tuple[str, str]]
"""(destination_service, destination_version) -> (route, backend) for ``istio_requests_total``."""

__all__ = [
    "SHADOW_STAT_PREFIX",
    "UNIX",
    "ClusterNames",
    "IstioDestinations",
    "Measured",
    "MetricsHooks",
    "admin_http",
]

UNIX = "unix:"
"""An admin URL ``unix:/path/admin.sock``: Envoy's admin API on a Unix socket only its owner can open."""


def admin_http(url: str, timeout: float) -> tuple[httpx.Client, str]:
    """An HTTP client for an Envoy admin URL, and the base URL to put before paths. The URL is
    ``http://host:port`` or ``unix:/path/admin.sock`` (how a native gateway's admin is reached)."""
    if url.startswith(UNIX):
        transport = _UnixTransport(uds=url.removeprefix(UNIX), verify=plain_http_context())
        return http_client(
            transport=transport, timeout=timeout, verify=plain_http_context()
        ), "http://envoy-admin"
    return http_client(timeout=timeout, verify=context_for(url)), url.rstrip("/")


SHADOW_STAT_PREFIX = "gw_shadow_"
"""Stat prefix of local rate limiters in shadow mode (they refuse nothing): their ``rate_limited``
counts would-be refusals, never requests the gateway refused."""


@dataclass(frozen=True)
class MetricsHooks:
    """What a gateway offers for metrics; a field is None when it has no such thing.

    ``admin_url``: Envoy's admin endpoint this machine can poll (a native gateway; ``http://...`` or
    ``unix:/path``, see ``admin_http``) — figures come from it when no Prometheus is configured.
    ``cluster_names``: Envoy's cluster names of each route
    and backend. ``istio_destinations``: Istio's destination labels of each route and backend (the
    series are Istio's standard metrics, not Envoy's). ``access_log_path``: a local access log naming
    the limited clients; ``log_lines(since_s)``: the proxies' access-log lines of the last seconds.
    """

    admin_url: Callable[[], str] | None = None
    cluster_names: Callable[[], ClusterNames] | None = None
    istio_destinations: Callable[[], IstioDestinations] | None = None
    access_log_path: Path | None = None
    log_lines: Callable[[float], list[str]] | None = None


@runtime_checkable
class Measured(Protocol):
    """Anything a metrics source can be made for: every ``Connector`` is one."""

    def metrics_hooks(self) -> MetricsHooks:
        """What this gateway offers for metrics. Cheap: reads nothing until a hook is called."""
        ...


class _UnixTransport(httpx.HTTPTransport):
    """httpx over a Unix socket, without leaking the socket of a refused connection (httpcore
    1.0 leaves it open for the garbage collector, a ResourceWarning each poll of a dead gateway)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except httpx.ConnectError as exc:
            _close_sockets(exc)
            raise


def _close_sockets(exc: BaseException | None) -> None:
    """Close the sockets left in the frames of ``exc``'s chain (the failed ``connect`` call's)."""
    while exc is not None:
        tb: TracebackType | None = exc.__traceback__
        while tb is not None:
            for value in tb.tb_frame.f_locals.values():
                if isinstance(value, socket.socket):
                    value.close()
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
