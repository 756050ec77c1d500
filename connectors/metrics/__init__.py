"""Live and historical traffic figures for the console: one interface, two kinds of source.

    MetricsSource            snapshot(), series(scope, window), top_limited_clients(), status()
    ├── EnvoyAdminSource     polls Envoy's admin endpoint (native gateways without a Prometheus)
    └── PrometheusSource     PromQL over Envoy's or Istio's metrics (any gateway Prometheus scrapes)

``metrics_for(connector)`` picks the source from what the connector offers (``Measured``, in
``connectors.metrics_contract``), not from its kind. The UI imports only this package; this package
imports only the model and that contract.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..metrics_contract import Measured, MetricsHooks
from .prometheus_config import PrometheusConfig
from .promql import EnvoyFamily, IstioFamily
from .source import MetricsSource
from .types import (
    CLASSES,
    GATEWAY,
    QUANTILES,
    WINDOWS,
    BackendStats,
    ChartData,
    RouteStats,
    Scope,
    Series,
    Snapshot,
)

if TYPE_CHECKING:
    from .admin_source import EnvoyAdminSource
    from .prometheus_metrics import PrometheusSource


def __getattr__(name: str) -> Any:
    # The sources pull in HTTP clients (httpx, requests): imported when first used, so importing
    # the package for its types stays cheap.
    if name == "EnvoyAdminSource":
        from .admin_source import EnvoyAdminSource

        return EnvoyAdminSource
    if name == "PrometheusSource":
        from .prometheus_metrics import PrometheusSource

        return PrometheusSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CLASSES",
    "GATEWAY",
    "QUANTILES",
    "WINDOWS",
    "BackendStats",
    "ChartData",
    "EnvoyAdminSource",
    "EnvoyFamily",
    "IstioFamily",
    "Measured",
    "MetricsHooks",
    "MetricsSource",
    "PrometheusConfig",
    "PrometheusSource",
    "RouteStats",
    "Scope",
    "Series",
    "Snapshot",
    "metrics_for",
    "prometheus_source",
]

T = TypeVar("T")


def _cached(fn: Callable[[], T], ttl: float = 5.0) -> Callable[[], T]:
    """``fn`` called at most every ``ttl`` seconds (a connector's cluster list reads its config)."""
    lock = threading.Lock()
    state: dict[str, Any] = {}

    def get() -> T:
        with lock:
            if "value" not in state or time.monotonic() - state["at"] > ttl:
                state["value"], state["at"] = fn(), time.monotonic()
            value: T = state["value"]
            return value

    return get


def metrics_for(target: Measured, *, prometheus: PrometheusConfig | None = None) -> MetricsSource | None:
    """The metrics source for ``target`` (a connector), chosen from what its ``metrics_hooks()`` offer:
    Prometheus when configured, else Envoy's admin endpoint when the gateway has one this machine can
    poll; None when there is no way to get figures (a cluster gateway without Prometheus).
    Raises MetricsError for a malformed Prometheus configuration."""
    hooks = target.metrics_hooks()
    clusters = _cached(hooks.cluster_names) if hooks.cluster_names is not None else None
    # Only the source in use is imported: the Prometheus client alone costs ~40 ms of CPU to load.
    if prometheus is None:
        if hooks.admin_url is None:
            return None
        from .admin_source import EnvoyAdminSource

        log = hooks.access_log_path
        return EnvoyAdminSource(hooks.admin_url, cluster_names=clusters, access_log_path=log)
    from .prometheus_metrics import PrometheusSource

    if hooks.admin_url is not None:
        envoy = EnvoyFamily(prometheus.selector, clusters)
        return PrometheusSource(prometheus, envoy, access_log_path=hooks.access_log_path)
    family: EnvoyFamily | IstioFamily
    if hooks.istio_destinations is not None:
        family = IstioFamily(prometheus.selector, _cached(hooks.istio_destinations))
    else:
        family = EnvoyFamily(prometheus.selector, clusters)
    return PrometheusSource(prometheus, family, log_lines=hooks.log_lines)


def prometheus_source(url: str, target: Measured, **options: Any) -> MetricsSource | None:
    """``metrics_for`` with a Prometheus at ``url`` (``--prometheus URL``); ``options`` are the other
    ``PrometheusConfig`` fields (headers, verify, ca_file, timeout, selector, rate_window)."""
    return metrics_for(target, prometheus=PrometheusConfig(url, **options))
