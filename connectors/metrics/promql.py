"""The PromQL each gateway kind needs, and how result labels map back to routes and backends.

Two metric families:

- **envoy** (native mode, Envoy Gateway): Envoy's own stats with default tag extraction.
  Per backend: ``envoy_cluster_upstream_rq_xx`` and ``envoy_cluster_upstream_rq_time_bucket`` by
  ``envoy_cluster_name`` (native clusters are named ``route~backend``; Envoy Gateway's
  ``httproute/<ns>/<name>/rule/<i>`` name the route only). Whole gateway:
  ``envoy_http_downstream_rq_xx`` / ``envoy_http_downstream_rq_time_bucket`` (the admin listener
  left out) and the local rate limiter's ``envoy_http_local_rate_limit_rate_limited`` (shadow
  limiters' prefixes, ``gw_shadow_*``, left out: they refused nobody). A shared
  limiter has no per-route counts: the per-route split of 429s comes from the access log.
- **istio**: the standard ``istio_requests_total`` and ``istio_request_duration_milliseconds_bucket``
  by ``destination_service`` and ``destination_version``, ``response_code`` (429 = limited).

Every per-backend query is grouped by the family's *key* labels (the cluster name, or service and
version), narrowed by a regex on them, and summed per route or backend on our side. Latency
quantiles are computed from the bucket rates here too (``histogram.quantile``, the interpolation of
``histogram_quantile``), so one query serves p50, p95 and p99.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

from ..metrics_contract import SHADOW_STAT_PREFIX

Family = Literal["envoy", "istio"]
Labels = Mapping[str, str]
Key = tuple[str, ...]
# What a key belongs to: (route, backend), backend "" when only the route is known.
Target = tuple[str, str]

_EG_CLUSTER = re.compile(r"^httproute/(?P<ns>[^/]+)/(?P<name>[^/]+)/rule/\d+")


def quote(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def alternatives(values: list[str]) -> str:
    """An RE2 (anchored by PromQL) matching exactly one of ``values``."""
    return "|".join(re.escape(v) for v in sorted(set(values))) or "^$"


def braces(matchers: list[str], selector: str) -> str:
    """``{a="b",<selector>}``; ``selector`` holds the operator's extra matchers, e.g. ``job="gw"``."""
    parts = [m for m in matchers if m]
    if selector.strip():
        parts.append(selector.strip().strip("{}"))
    return "{" + ",".join(parts) + "}"


def rate(metric: str, sel: str, by: list[str], window: str, fn: str = "rate") -> str:
    """``sum by (...) (rate(metric{sel}[window]))``; ``fn="irate"`` for the rate between the last two
    samples only (current figures that follow a change within two scrapes)."""
    inner = f"{fn}({metric}{sel}[{window}])"
    return f"sum by ({', '.join(by)}) ({inner})" if by else f"sum({inner})"


class EnvoyFamily:
    family: Family = "envoy"
    key_labels = ("envoy_cluster_name",)
    class_label = "envoy_response_code_class"

    def __init__(
        self, selector: str = "", clusters: Callable[[], Mapping[str, Target]] | None = None
    ) -> None:
        self.selector = selector
        self._clusters = clusters

    def target(self, key: Key) -> Target | None:
        name = key[0]
        if self._clusters is not None:
            found = self._clusters().get(name)
            if found is not None:
                return found
        route, sep, backend = name.partition("~")
        if sep and route and backend:
            return route, backend
        m = _EG_CLUSTER.match(name)
        return (f"{m['ns']}/{m['name']}", "") if m else None

    @staticmethod
    def class_of(labels: Labels) -> str | None:
        c = labels.get("envoy_response_code_class", "")
        return f"{c}xx" if c in ("1", "2", "3", "4", "5") else None

    def keys_query(self) -> str:
        return f"count by (envoy_cluster_name) (envoy_cluster_upstream_rq_total{braces([], self.selector)})"

    def _sel(self, keys: list[Key] | None) -> str:
        if keys is None:
            return braces([], self.selector)
        return braces([f"envoy_cluster_name=~{quote(alternatives([k[0] for k in keys]))}"], self.selector)

    def classes(self, keys: list[Key] | None, window: str, fn: str = "rate") -> str:
        by = [*self.key_labels, self.class_label]
        return rate("envoy_cluster_upstream_rq_xx", self._sel(keys), by, window, fn)

    def latency(self, keys: list[Key] | None, window: str) -> str:
        return rate(
            "envoy_cluster_upstream_rq_time_bucket", self._sel(keys), [*self.key_labels, "le"], window
        )

    def limited(self, keys: list[Key] | None, window: str, fn: str = "rate") -> str | None:
        return None  # limited requests never reach a cluster: per route they come from the access log

    def counters(self, wrap: str = "{}") -> tuple[str, str]:
        """The per-backend response counters by class and latency buckets, cumulative (``counts``);
        ``wrap`` puts each series selector in a function (``min_over_time({}[5s])``)."""
        sel = self._sel(None)
        xx = wrap.format(f"envoy_cluster_upstream_rq_xx{sel}")
        buckets = wrap.format(f"envoy_cluster_upstream_rq_time_bucket{sel}")
        return (
            f"sum by (envoy_cluster_name, {self.class_label}) ({xx})",
            f"sum by (envoy_cluster_name, le) ({buckets})",
        )

    def gateway_classes(self, window: str, fn: str = "rate") -> str:
        sel = braces(['envoy_http_conn_manager_prefix!="admin"'], self.selector)
        return rate("envoy_http_downstream_rq_xx", sel, [self.class_label], window, fn)

    def gateway_latency(self, window: str) -> str:
        sel = braces(['envoy_http_conn_manager_prefix!="admin"'], self.selector)
        return rate("envoy_http_downstream_rq_time_bucket", sel, ["le"], window)

    def gateway_limited(self, window: str, fn: str = "rate") -> str:
        # Shadow limiters count would-be refusals under their own prefix: nobody was refused.
        not_shadow = f"envoy_local_http_ratelimit_prefix!~{quote(re.escape(SHADOW_STAT_PREFIX) + '.*')}"
        return rate(
            "envoy_http_local_rate_limit_rate_limited", braces([not_shadow], self.selector), [], window, fn
        )


class IstioFamily:
    """Istio's standard metrics. ``destinations`` maps (destination_service, destination_version) to
    (route, backend); without it the service is taken as the route and the version as the backend."""

    family: Family = "istio"
    key_labels = ("destination_service", "destination_version")
    class_label = "response_code"

    def __init__(
        self,
        selector: str = "",
        destinations: Callable[[], Mapping[tuple[str, str], Target]] | None = None,
        reporter: str = "source",
    ) -> None:
        self.selector = selector
        self._destinations = destinations
        self.reporter = reporter

    def target(self, key: Key) -> Target | None:
        service, version = key[0], key[1] if len(key) > 1 else ""
        if not service:
            return None
        if self._destinations is not None:
            found = self._destinations().get((service, version))
            if found is not None:
                return found
        return service, "" if version in ("", "unknown") else version

    @staticmethod
    def class_of(labels: Labels) -> str | None:
        code = labels.get("response_code", "")
        return f"{code[0]}xx" if len(code) == 3 and code[0] in "12345" else None

    def keys_query(self) -> str:
        return f"count by (destination_service, destination_version) (istio_requests_total{self._sel(None)})"

    def _sel(self, keys: list[Key] | None, extra: tuple[str, ...] = ()) -> str:
        matchers = [f"reporter={quote(self.reporter)}", *extra]
        if keys is not None:
            matchers.append(f"destination_service=~{quote(alternatives([k[0] for k in keys]))}")
        return braces(matchers, self.selector)

    def classes(self, keys: list[Key] | None, window: str, fn: str = "rate") -> str:
        return rate("istio_requests_total", self._sel(keys), [*self.key_labels, self.class_label], window, fn)

    def latency(self, keys: list[Key] | None, window: str) -> str:
        metric = "istio_request_duration_milliseconds_bucket"
        return rate(metric, self._sel(keys), [*self.key_labels, "le"], window)

    def limited(self, keys: list[Key] | None, window: str, fn: str = "rate") -> str | None:
        sel = self._sel(keys, ('response_code="429"',))
        return rate("istio_requests_total", sel, list(self.key_labels), window, fn)

    def counters(self, wrap: str = "{}") -> tuple[str, str]:
        """The per-backend response counters by code and latency buckets, cumulative (``counts``);
        ``wrap`` puts each series selector in a function (``min_over_time({}[5s])``)."""
        by, sel = ", ".join(self.key_labels), self._sel(None)
        total = wrap.format(f"istio_requests_total{sel}")
        buckets = wrap.format(f"istio_request_duration_milliseconds_bucket{sel}")
        return (f"sum by ({by}, response_code) ({total})", f"sum by ({by}, le) ({buckets})")

    def gateway_classes(self, window: str, fn: str = "rate") -> str:
        return rate("istio_requests_total", self._sel(None), [self.class_label], window, fn)

    def gateway_latency(self, window: str) -> str:
        return rate("istio_request_duration_milliseconds_bucket", self._sel(None), ["le"], window)

    def gateway_limited(self, window: str, fn: str = "rate") -> str:
        return rate("istio_requests_total", self._sel(None, ('response_code="429"',)), [], window, fn)


MetricFamily = EnvoyFamily | IstioFamily
