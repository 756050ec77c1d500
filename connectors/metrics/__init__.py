"""Live and historical traffic figures for the console: one interface, two kinds of source.

    MetricsSource            snapshot(), series(scope, window), top_limited_clients(), status()
    ├── EnvoyAdminSource     polls Envoy's admin endpoint (native gateways without a Prometheus)
    └── PrometheusSource     PromQL over Envoy's or Istio's metrics (any gateway Prometheus scrapes)

``metrics_for(connector)`` picks the source for a connector. The UI imports only this package.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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


def metrics_for(connector: Any, *, prometheus: PrometheusConfig | None = None) -> MetricsSource | None:
    """The metrics source for ``connector``: Prometheus when configured, else Envoy's admin endpoint for
    a native gateway; None when there is no way to get figures (a cluster gateway without Prometheus).
    Raises MetricsError for a malformed Prometheus configuration."""
    from .admin_source import EnvoyAdminSource
    from .prometheus_metrics import PrometheusSource

    kind = getattr(connector, "kind", "")
    clusters: Callable[[], Mapping[str, tuple[str, str]]] | None = None
    if callable(getattr(connector, "cluster_names", None)):
        clusters = _cached(connector.cluster_names)
    if kind == "native":
        log = _access_log(connector)
        if prometheus is not None:
            return PrometheusSource(
                prometheus, EnvoyFamily(prometheus.selector, clusters), access_log_path=log
            )
        return EnvoyAdminSource(lambda: str(connector.admin_url), cluster_names=clusters, access_log_path=log)
    if prometheus is None:
        return None
    log_lines = getattr(connector, "gateway_log_lines", None)
    if kind == "istio":
        destinations = getattr(connector, "istio_destinations", None)
        family: EnvoyFamily | IstioFamily = IstioFamily(
            prometheus.selector, _cached(destinations) if callable(destinations) else None
        )
    else:
        family = EnvoyFamily(prometheus.selector, clusters)
    return PrometheusSource(prometheus, family, log_lines=log_lines if callable(log_lines) else None)


def prometheus_source(url: str, connector: Any, **options: Any) -> MetricsSource | None:
    """``metrics_for`` with a Prometheus at ``url`` (``--prometheus URL``); ``options`` are the other
    ``PrometheusConfig`` fields (headers, verify, ca_file, timeout, selector, rate_window)."""
    return metrics_for(connector, prometheus=PrometheusConfig(url, **options))


def _access_log(connector: Any) -> Path | None:
    path = getattr(connector, "access_log_path", None)
    return Path(path) if path else None
