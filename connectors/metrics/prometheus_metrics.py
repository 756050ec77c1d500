"""Metrics from a Prometheus that scrapes the gateway, through ``prometheus-api-client``.

Queries run one at a time (a lock) with a short timeout and no retries, so a slow or dead
Prometheus costs one timeout per refresh and the chart shows ``no data since …`` with the reason:
unreachable, refused credentials (401/403), a PromQL error, or no series at all (Prometheus is up
but does not scrape this gateway). Credentials in headers are sent, never shown.

Native mode also follows the gateway's access log (``LimitedLog``): Envoy's limiter counts 429s
for all routes together, and the log splits them by route and by client.
"""

from __future__ import annotations

import ast
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import requests
import urllib3
import yaml
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from ..errors import MetricsError
from ..model.durations import parse_duration
from . import frames, pod_logs
from . import prometheus_chart as chart
from .clients import SOURCE
from .counts import Counts, LogCounter, build, window_start
from .limited_log import LimitedLog, local_routes, recent_split, share, top_clients
from .prometheus_config import PrometheusConfig
from .prometheus_figures import PerTarget, gateway_stats, scalar
from .promql import Key, MetricFamily, Target
from .source import Health, MetricsSource
from .types import CLASSES, QUANTILES, ChartData, RouteStats, Scope, Snapshot, make_series

DEFAULT_WINDOW_S = 60.0
LogLines = Callable[[float], list[str]]
"""Access-log lines of the gateway's proxies over the last N seconds (cluster gateways: pod logs)."""


def describe_failure(exc: BaseException, url: str, timeout: float) -> str:
    """One line an operator can act on, for whatever a query raised."""
    if isinstance(exc, PrometheusApiClientException):
        m = re.match(r"HTTP Status Code (\d+) \((.*)\)$", str(exc), re.S)
        if not m:
            return f"Prometheus failed: {exc}"
        code, body = int(m[1]), _body_text(m[2])
        if code in (401, 403):
            what = "Unauthorized" if code == 401 else "Forbidden"
            return f"Prometheus at {url} refused the request ({code} {what}): check the credentials"
        if code in (400, 422):
            return f"Prometheus rejected the query: {body}"
        return f"Prometheus at {url} answered {code}: {body}"
    reason = getattr(exc.args[0], "reason", None) if exc.args else None  # urllib3's MaxRetryError
    if isinstance(exc, requests.Timeout) or isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        return f"Prometheus at {url} did not answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS with Prometheus at {url} failed: {_short(exc)}"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot reach Prometheus at {url}"
    if isinstance(exc, ValueError | KeyError | TypeError):
        return f"Prometheus at {url} sent an answer that is not the query API's: {_short(exc)}"
    return f"Prometheus query failed: {_short(exc)}"


def _body_text(raw: str) -> str:
    try:
        body = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        body = raw
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    m = re.search(r'"error"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    return (m[1].encode().decode("unicode_escape") if m else text.strip())[:300]


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


Result = list[dict[str, Any]]


class PrometheusSource(MetricsSource):
    name = "prometheus"

    def __init__(
        self,
        config: PrometheusConfig,
        family: MetricFamily,
        *,
        access_log_path: Path | None = None,
        log_lines: LogLines | None = None,
        latency_window: str | None = None,
    ) -> None:
        problems = config.problems()
        if problems:
            raise MetricsError("; ".join(str(p) for p in problems))
        self.config = config
        self.family = family
        self.url = config.url.rstrip("/")
        self._window_fixed = config.rate_window is not None
        self.rate_window_s = parse_duration(config.rate_window) if config.rate_window else DEFAULT_WINDOW_S
        self._latency_window = parse_duration(latency_window) if latency_window else None
        self._session = requests.Session()
        self._session.verify = config.ca_file if config.ca_file else config.verify
        self._session.trust_env = False
        self._prom = PrometheusConnect(
            url=self.url,
            headers=dict(config.headers) or None,
            retry=Retry(total=0, raise_on_status=False),
            session=self._session,
            timeout=config.timeout,
        )
        self._lock = threading.Lock()
        self._health = Health()
        self._keys: list[Key] = []
        self._keys_read = 0.0
        self._log = LimitedLog(access_log_path, self._target_of_cluster) if access_log_path else None
        self._counter = LogCounter(access_log_path, self._target_of_cluster) if access_log_path else None
        self._log_lines = log_lines
        # The completed steps already asked, per scope and window (``prometheus_chart``).
        self._frames: dict[tuple[Scope, float], chart.Frame] = {}

    # -- queries ---------------------------------------------------------------------------------

    def _query(self, promql: str) -> Result:
        return self._ask(lambda: self._prom.custom_query(promql))

    def _range(self, promql: str, times: tuple[float, ...], step: float) -> Result:
        start = datetime.fromtimestamp(times[0], UTC)
        end = datetime.fromtimestamp(times[-1], UTC)
        return self._ask(lambda: self._prom.custom_query_range(promql, start, end, f"{step:g}s"))

    def _ask(self, query: Callable[[], Any]) -> Result:
        """Run one Prometheus API call; every way it can fail becomes one MetricsError that says why."""
        try:
            return list(query())
        except (
            PrometheusApiClientException,
            requests.RequestException,
            ValueError,
            KeyError,
            TypeError,
        ) as exc:
            raise MetricsError(describe_failure(exc, self.url, self.config.timeout)) from exc

    @property
    def latency_window_s(self) -> float:
        return self._latency_window or self.rate_window_s

    def _detect_window(self) -> None:
        """Four scrape intervals (the fewest samples a rate() needs, with room for a missed scrape),
        from the shortest interval in Prometheus' own configuration."""
        if self._window_fixed:
            return
        try:
            response = self._session.get(
                self.url + "/api/v1/status/config",
                headers=dict(self.config.headers),
                timeout=self.config.timeout,
            )
            config = yaml.safe_load(response.json()["data"]["yaml"]) if response.status_code == 200 else None
        except (requests.RequestException, ValueError, KeyError, TypeError, yaml.YAMLError):
            return  # try again next time; meanwhile one minute
        if not isinstance(config, dict):
            return
        jobs = [*(config.get("scrape_configs") or []), config.get("global") or {}]
        intervals = [
            parse_duration(j["scrape_interval"])
            for j in jobs
            if isinstance(j, dict) and j.get("scrape_interval")
        ]
        if intervals:
            self.rate_window_s = max(2.0, 4 * min(intervals))
            self._window_fixed = True

    def _window(self, seconds: float) -> str:
        return f"{max(seconds, self.rate_window_s):g}s"

    def _target(self, labels: Mapping[str, str]) -> Target | None:
        return self.family.target(tuple(labels.get(k, "") for k in self.family.key_labels))

    def _target_of_cluster(self, cluster: str) -> Target | None:
        return self.family.target((cluster, ""))

    def _scope_keys(self, scope: Scope) -> list[Key]:
        if time.monotonic() - self._keys_read > 10.0 or not self._keys:
            result = self._query(self.family.keys_query())
            self._keys = [tuple(r["metric"].get(k, "") for k in self.family.key_labels) for r in result]
            self._keys_read = time.monotonic()
        return [
            k
            for k in self._keys
            if (t := self.family.target(k)) and t[0] == scope.route and scope.backend in (None, t[1])
        ]

    # -- MetricsSource ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = time.time()
            try:
                snap = self._snapshot(now)
            except MetricsError as exc:
                return Snapshot(time=now, routes={}, source=self.name, status=self._health.fail(str(exc)))
            self._health.ok()
            return snap

    def _snapshot(self, now: float) -> Snapshot:
        self._detect_window()
        w = self._window(self.rate_window_s)
        wl = self._window(self.latency_window_s)
        f = self.family
        # Current figures: the rate between the last two scrapes, so a weight change shows within two.
        classes = self._query(f.classes(None, w, "irate"))
        latency = self._query(f.latency(None, wl))
        limited_q = f.limited(None, w, "irate")
        per_target_limited = self._query(limited_q) if limited_q else []
        gw_classes = self._query(f.gateway_classes(w, "irate"))
        gw_latency = self._query(f.gateway_latency(wl))
        gw_limited = scalar(self._query(f.gateway_limited(w, "irate")))
        if not classes and not gw_classes:
            raise MetricsError(self._no_series())
        if self._log is not None:
            self._log.poll()

        per = PerTarget.read(classes, latency, per_target_limited, self._target, f.class_of)
        split = recent_split(self._log.history) if self._log is not None else None
        routes = per.routes()
        if split:
            for route, _backend in split:
                routes.setdefault(route, [])
        if self._log is not None:
            for route in local_routes(self._log.history):
                routes.setdefault(route, [])
        out: dict[str, RouteStats] = {}
        for route, targets in routes.items():
            extra: list[Mapping[str, float]] = []
            if split is not None:  # the limiter's total shared out by the access log
                lim = share(split, gw_limited, route, None) or 0.0
                extra.append({"4xx": lim})  # refused before any cluster: not in the cluster counts
            else:
                lim = per.limited_of(route)
            if self._log is not None:  # other requests Envoy answered itself (JWT 401s, preflights)
                extra.append(frames.local_rates(self._log.history, route))
            out[route] = per.route(route, targets, lim, extra)
        gateway = gateway_stats(gw_classes, gw_latency, gw_limited, f.class_of)
        return Snapshot(time=now, routes=out, source=self.name, status="ok", gateway=gateway)

    def _no_series(self) -> str:
        metric = "envoy_cluster_upstream_rq_xx" if self.family.family == "envoy" else "istio_requests_total"
        where = f" matching {self.config.selector}" if self.config.selector else ""
        return f"Prometheus has no {metric} series{where}: is it scraping this gateway?"

    def series(self, scope: Scope, window_s: float) -> ChartData:
        """Completed steps from the kept range answers (a short range query when steps completed
        since), the running step live from one instant query (see ``prometheus_chart``)."""
        with self._lock:
            _, step, times = frames.grid(window_s, time.time(), min_step=1.0)
            try:
                values = self._series(scope, window_s, times, step)
            except MetricsError as exc:
                self._frames.pop((scope, window_s), None)  # ask it all again once Prometheus answers
                status = self._health.fail(str(exc))
                empty = tuple(
                    make_series(k, (None,) * len(times)) for k in ("rps", *CLASSES, "limited", *QUANTILES)
                )
                return ChartData(scope, window_s, step, times, empty, self.name, status)
            self._health.ok()
            series = tuple(make_series(k, tuple(v)) for k, v in values.items())
            return ChartData(scope, window_s, step, times, series, self.name, live=True)

    def _series(
        self, scope: Scope, window_s: float, times: tuple[float, ...], step: float
    ) -> dict[str, list[float | None]]:
        self._detect_window()
        f = self.family
        keys: list[Key] | None = None
        if scope.route is not None:
            keys = self._scope_keys(scope)
            if not keys and self._log is None:
                raise MetricsError(f"Prometheus has no series for {scope.label}")
        # Steps asked with other keys (a backend came or went) are asked again.
        known = tuple(sorted(keys)) if keys is not None else None
        frame = self._frames.get((scope, window_s))
        if frame is None or frame.step != step or frame.keys != known:
            frame = self._frames[(scope, window_s)] = chart.Frame(step, known)

        def ask(fn: str, rate_window: float) -> str:
            return chart.joined(
                chart.parts(
                    f,
                    scope,
                    keys,
                    access_log=self._log is not None,
                    rate_window=self._window(rate_window),
                    latency_window=self._window(step),
                    fn=fn,
                )
            )

        in_scope = partial(self._in_scope, scope=scope)
        # times[-1] is the step still running (grid() ends after now): every other one has completed.
        completed, live = times[:-1], round(times[-1])
        asked = frame.missing(completed)
        if asked:
            wanted = {round(t) for t in asked}
            rows = self._range(ask("rate", step), asked, step)
            frame.replace(
                asked, chart.read(rows, f, in_scope, lambda ts: t if (t := round(ts)) in wanted else None)
            )
        # The live edge: the rate between the last two scrapes (the source's rate window finds them).
        edge = chart.read(self._query(ask("irate", 0.0)), f, in_scope, lambda _ts: live)
        points = [frame.points.get(round(t)) for t in completed] + [edge.get(live)]
        if scope.route is None and not any(p is not None and p.classes for p in points):
            raise MetricsError(self._no_series())
        log: chart.AccessLog | None = None
        if scope.route is not None and self._log is not None:
            self._log.poll()
            log = chart.AccessLog(
                self._log.history.buckets(times[0] - step, times[-1], step),
                share(recent_split(self._log.history), 1.0, scope.route, scope.backend),
            )
        return chart.values(scope, step, points, log)

    def _in_scope(self, labels: Mapping[str, str], scope: Scope) -> bool:
        if scope.route is None:
            return True
        t = self._target(labels)
        return t is not None and t[0] == scope.route and scope.backend in (None, t[1])

    def counts(self, since: float | None, *, strict: bool = False) -> Counts:
        """See ``prometheus_counts``: the counters at ``since`` and now; local replies from the access log."""
        from . import prometheus_counts

        with self._lock:
            now = time.time()
            try:
                at = partial(_query_at, self)
                backends = prometheus_counts.backends(self.family, at, since, now, strict=strict)
            except prometheus_counts.NotScrapedYet as exc:
                # Prometheus began scraping after ``since`` (a demo started minutes ago, triage's hour
                # back): the access log, when there is one, was written all along. Not a failure.
                if self._counter is None:
                    return Counts(since, now, {}, self.name, str(exc))
                logged = self._counter.tally(since)
                backends_logged = build(logged.backends(since), logged, since)
                return Counts(since, now, backends_logged, self.name, basis="access log")
            except MetricsError as exc:
                return Counts(since, now, {}, self.name, self._health.fail(str(exc)))
            self._health.ok()
            tally = self._counter.tally(since) if self._counter is not None else None
        return Counts(since, now, build(backends, tally, since), self.name)

    def top_limited_clients(
        self, route: str, by: str = SOURCE, window_s: float = 300.0
    ) -> list[tuple[str, int]]:
        if self._counter is not None:
            with self._lock:
                since = window_start(window_s, time.time())
                return self._counter.tally(since).clients(route, by, since)
        if self._log is not None:
            with self._lock:
                self._log.poll()
                return top_clients(self._log.history, route, by, window_s)
        if self._log_lines is not None:
            # A refused pods/log read raises MetricsError: the triage view shows it as a toast.
            return pod_logs.top_clients_in_lines(self._log_lines(window_s), route, by)
        return []

    def client_keys(self) -> list[str]:
        return self._log.client_keys() if self._log is not None else [SOURCE]

    def status(self) -> str:
        return self._health.text()

    def close(self) -> None:
        with self._lock:
            self._prom.close()


def _query_at(source: PrometheusSource, promql: str, when: float) -> Result:
    """An instant query as Prometheus held its series at ``when``."""
    return source._ask(lambda: source._prom.custom_query(promql, params={"time": f"{when:.3f}"}))
