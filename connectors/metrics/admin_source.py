"""Metrics straight from Envoy's admin endpoint, for a gateway without a Prometheus.

Every poll reads the cumulative counters and latency histograms once (one filtered ``/stats`` call)
and the access-log lines written since the previous poll; the differences make one ``Interval`` of
the history ring. Rates are deltas over time; a counter that went down means Envoy restarted, so
that poll counts from zero instead of reporting a negative rate. Latency quantiles come from the
histogram bucket deltas (Envoy refreshes histograms every stats flush, 5 s by default).

Polls never overlap: one lock guards them, and a caller that waited for it finds a fresh poll and
does not start another. A background thread polls every ``interval`` so charts keep a history
while no screen is looking; ``close()`` stops it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from ..errors import GatewayError
from ..metrics_contract import SHADOW_STAT_PREFIX, admin_http
from . import frames
from .clients import SOURCE
from .counts import Counts, LogCounter, build, window_start
from .histogram import delta, from_cumulative
from .limited_log import SPLIT_WINDOW_S, LimitedLog, recent_split, share, top_clients
from .ring import History, Interval, Key
from .source import MetricsSource
from .types import CLASSES, GATEWAY, ChartData, Scope, Snapshot

ClusterMap = Mapping[str, tuple[str, str]]
_CLASS_SUFFIX = {f"{c[0]}xx": c for c in CLASSES}
# Envoy repeats some cluster stats under these sub-scopes (cluster.<name>.external.upstream_rq_2xx).
_SUB_SCOPES = (".external", ".internal", ".canary")
STATS_FILTER = (
    r"^(cluster\..+\.upstream_rq_([1-5]xx|time)|http\.[^.]+\.downstream_rq_([1-5]xx|time)"
    r"|.+\.http_local_rate_limit\.rate_limited|server\.uptime)$"
)


def split_default(name: str) -> tuple[str, str] | None:
    """The native connector's cluster naming, ``route~backend``."""
    route, sep, backend = name.partition("~")
    return (route, backend) if sep and route and backend else None


class Reading:
    """One poll's cumulative values, keyed like the history's counters."""

    def __init__(self) -> None:
        self.counters: dict[Key, float] = {}
        self.hists: dict[Key, tuple[float, ...]] = {}
        self.bounds: tuple[float, ...] = ()
        self.uptime: float | None = None


def parse_stats(data: Mapping[str, Any], clusters: Callable[[str], tuple[str, str] | None]) -> Reading:
    """A ``Reading`` from ``/stats?format=json&histogram_buckets=cumulative``."""
    out = Reading()
    for item in data.get("stats", []):
        if "histograms" in item:
            for h in item["histograms"] if isinstance(item["histograms"], list) else []:
                key = _hist_key(str(h.get("name", "")), clusters)
                buckets = h.get("buckets") or []
                if key is None or not buckets:
                    continue
                out.bounds = tuple(float(b["upper_bound"]) for b in buckets)
                # Envoy lists no +Inf bucket; nothing is slower than its last bound (one hour).
                cum = (*(float(b.get("cumulative") or 0) for b in buckets), 0.0)
                # Several listeners' downstream histograms add up into the gateway's.
                prev = out.hists.get(key)
                out.hists[key] = (
                    cum if prev is None else tuple(a + b for a, b in zip(prev, cum, strict=False))
                )
            continue
        name, value = str(item.get("name", "")), item.get("value")
        if not isinstance(value, int | float):
            continue
        if name == "server.uptime":
            out.uptime = float(value)
        elif name.endswith(".http_local_rate_limit.rate_limited") and not name.startswith(SHADOW_STAT_PREFIX):
            out.counters[("down_lim",)] = out.counters.get(("down_lim",), 0.0) + value
        elif name.startswith("http."):
            prefix, _, stat = name[5:].rpartition(".")
            cls = _CLASS_SUFFIX.get(stat.removeprefix("downstream_rq_"))
            if prefix != "admin" and cls:
                out.counters[("down", cls)] = out.counters.get(("down", cls), 0.0) + value
        elif name.startswith("cluster."):
            cluster, _, stat = name[8:].rpartition(".")
            cls = _CLASS_SUFFIX.get(stat.removeprefix("upstream_rq_"))
            if cls is None or cluster.endswith(_SUB_SCOPES) or ".zone." in cluster:
                continue
            rb = clusters(cluster)
            if rb is not None and cls:
                out.counters[("up", *rb, cls)] = value
    return out


def _hist_key(name: str, clusters: Callable[[str], tuple[str, str] | None]) -> Key | None:
    if name.startswith("http.") and name.endswith(".downstream_rq_time"):
        return None if name == "http.admin.downstream_rq_time" else ("down",)
    if name.startswith("cluster.") and name.endswith(".upstream_rq_time"):
        cluster = name[8 : -len(".upstream_rq_time")]
        if cluster.endswith(_SUB_SCOPES):
            return None
        rb = clusters(cluster)
        return ("up", *rb) if rb else None
    return None


def interval_between(prev: Reading, cur: Reading, start: float, end: float) -> Interval:
    """What happened between two readings; counters that went down restarted from zero."""
    restarted = prev.uptime is not None and cur.uptime is not None and cur.uptime < prev.uptime
    iv = Interval(start, end)
    for key, value in cur.counters.items():
        before = prev.counters.get(key)
        iv.counts[key] = value if before is None or restarted or value < before else value - before
    for key, cum in cur.hists.items():
        iv.hists[key] = from_cumulative(delta(prev.hists.get(key), cum, restarted))
    return iv


def _with_limited(f: frames.Figures, limited: float | None) -> frames.Figures:
    """``f`` with its rate-limited count replaced (and its 4xx class adjusted to match)."""
    if limited is None:
        return f
    classes = dict(f.classes)
    classes["4xx"] = max(0.0, classes["4xx"] - f.limited + limited)
    return frames.Figures(classes, limited, f.hist, f.seconds)


class EnvoyAdminSource(MetricsSource):
    name = "envoy-admin"

    def __init__(
        self,
        admin_url: str | Callable[[], str],
        *,
        cluster_names: Callable[[], ClusterMap] | None = None,
        access_log_path: Path | None = None,
        interval: float = 1.0,
        rate_window_s: float = 2.0,
        latency_window_s: float = 15.0,
        timeout: float = 2.0,
        background: bool = True,
    ) -> None:
        from .source import Health

        self._admin_url = admin_url
        self._cluster_names = cluster_names
        self._clusters: dict[str, tuple[str, str]] = {}
        self._clusters_read = 0.0
        self.interval = interval
        self.rate_window_s = rate_window_s
        self.latency_window_s = latency_window_s
        self._timeout = timeout
        self._http: httpx.Client | None = None
        self._http_for = ""  # the admin URL ``_http`` talks to (a restart may move it)
        self._http_base = ""
        self._history = History()
        self._log = (
            LimitedLog(access_log_path, self._cluster, self._history) if access_log_path is not None else None
        )
        self._counter = LogCounter(access_log_path, self._cluster) if access_log_path is not None else None
        self._counter_lock = threading.Lock()
        self._first_poll: float | None = None  # when the poll history begins
        self._bounds: tuple[float, ...] = ()
        self._prev: Reading | None = None
        self._prev_time = 0.0
        self._poll_lock = threading.Lock()  # one poll at a time
        self._data = threading.RLock()  # the history, between a poll's update and a reader
        self._health = Health()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="metrics-envoy-admin", daemon=True)
            self._thread.start()

    # -- polling -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def _url(self) -> str:
        url = self._admin_url() if callable(self._admin_url) else self._admin_url
        return url.rstrip("/")

    def _client(self) -> tuple[httpx.Client, str]:
        """The client for the admin URL as it is now (``http://`` or ``unix:``), and its base URL."""
        url = self._url()
        if self._http is None or url != self._http_for:
            if self._http is not None:
                self._http.close()
            self._http, self._http_base = admin_http(url, self._timeout)
            self._http_for = url
        return self._http, self._http_base

    def _cluster(self, name: str) -> tuple[str, str] | None:
        found = self._clusters.get(name)
        if found is None and self._cluster_names is not None and time.monotonic() - self._clusters_read > 2.0:
            # A cluster we have not seen: the routes changed, read the connector's mapping again.
            self._clusters_read = time.monotonic()
            # The mapping is a hint: when it cannot be read the naming rule below still applies.
            with contextlib.suppress(GatewayError, OSError):
                self._clusters = dict(self._cluster_names())
            found = self._clusters.get(name)
        return found if found is not None else split_default(name)

    def poll(self, *, max_age: float = 0.0) -> None:
        """Read Envoy once (unless someone else did within ``max_age`` seconds)."""
        with self._poll_lock:
            if self._stop.is_set():
                return  # closed
            if self._prev is not None and time.monotonic() - self._prev_time < max_age:
                return
            now, mono = time.time(), time.monotonic()
            try:
                http, base = self._client()
                response = http.get(
                    base + "/stats",
                    params={"format": "json", "filter": STATS_FILTER, "histogram_buckets": "cumulative"},
                )
                if response.status_code != 200:
                    raise ValueError(f"Envoy's admin endpoint answered {response.status_code}")
                reading = parse_stats(response.json(), self._cluster)
            except httpx.ConnectError:
                self._health.fail(f"Envoy's admin endpoint {self._url()} refuses connections")
                return
            except (httpx.HTTPError, ValueError) as exc:
                self._health.fail(f"Envoy's admin endpoint {self._url()} did not answer: {exc}")
                return
            with self._data:
                if reading.bounds:
                    self._bounds = reading.bounds
                if self._prev is None:
                    self._first_poll = now
                else:
                    start = now - (mono - self._prev_time)
                    self._history.add(interval_between(self._prev, reading, start, now))
                    if self._log is not None:
                        self._log.poll(new_interval=False)
                self._prev, self._prev_time = reading, mono
            self._health.ok()

    # -- MetricsSource --------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        self.poll(max_age=self.interval * 0.9)
        with self._data:
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        status = self._health.text()
        now = time.time()
        latest = self._history.latest
        if self._health.failing or latest is None:
            return Snapshot(time=now, routes={}, source=self.name, status=status)
        routes: dict[str, dict[str, None]] = {}
        recent = self._history.intervals(latest.end - max(self.latency_window_s, SPLIT_WINDOW_S))
        for iv in recent:
            for k in iv.counts:
                if k[0] == "up" or (k[0] == "lim" and k[2]):
                    routes.setdefault(k[1], {})[k[2]] = None
                elif k[0] in ("lim", "loc"):
                    routes.setdefault(k[1], {})
        gateway = self._figures(GATEWAY)
        # The limiter's own counter is live and exact but counts all routes together; the access log
        # splits it by route but arrives late (Envoy flushes it every few seconds). So: the counter's
        # recent count, shared out in the proportions of the log's recent records.
        has_counter = any(("down_lim",) in iv.counts for iv in recent)
        split = recent_split(self._history)

        def limited(route: str, backend: str | None) -> float | None:
            return share(split, gateway.limited, route, backend) if has_counter else None

        out = {}
        for route, backends in routes.items():
            # A backend's figures are the requests that reached it; the route's add those Envoy answered.
            per_backend = {
                b: frames.backend_stats(b, self._figures(Scope(route, b)), self._bounds) for b in backends
            }
            f = _with_limited(self._figures(Scope(route)), limited(route, None))
            f = frames.with_local(f, frames.local_rates(self._history, route))
            out[route] = frames.route_stats(route, f, self._bounds, per_backend)
        return Snapshot(
            time=now,
            routes=out,
            source=self.name,
            status=status,
            gateway=frames.route_stats("", gateway, self._bounds, {}),
        )

    def _figures(self, scope: Scope) -> frames.Figures:
        return frames.stats(self._history, self._bounds, scope, self.rate_window_s, self.latency_window_s)

    def series(self, scope: Scope, window_s: float) -> ChartData:
        self.poll(max_age=self.interval * 0.9)
        with self._data:
            return frames.chart(
                self._history,
                self._bounds,
                scope,
                window_s,
                time.time(),
                source=self.name,
                status=self._health.text(),
                min_step=self.interval,
                live_s=self.interval,
                fallback_share=share(recent_split(self._history), 1.0, scope.route, scope.backend)
                if scope.route is not None
                else None,
            )

    def top_limited_clients(
        self, route: str, by: str = SOURCE, window_s: float = 300.0
    ) -> list[tuple[str, int]]:
        if self._counter is not None:
            with self._counter_lock:
                since = window_start(window_s, time.time())
                return self._counter.tally(since).clients(route, by, since)
        self.poll(max_age=self.interval * 0.9)
        with self._data:
            return top_clients(self._history, route, by, window_s)

    def counts(self, since: float | None, *, strict: bool = False) -> Counts:
        """See ``admin_counts``: Envoy's counters (cumulative, or the poll history's deltas), else the
        access log; the requests Envoy answered itself from the access log."""
        from . import admin_counts

        self.poll(max_age=self.interval * 0.9)
        tally = None
        if self._counter is not None:
            with self._counter_lock:
                tally = self._counter.tally(since)
        with self._data:
            now, prev = time.time(), self._prev
            if self._health.failing or prev is None:
                return Counts(since, now, {}, self.name, self._health.text())
            started = now - prev.uptime if prev.uptime is not None else None
            if since is None or (started is not None and since <= started):
                backends = admin_counts.cumulative(prev.counters, prev.hists, self._bounds)
            elif self._first_poll is not None and since >= self._first_poll:
                # From the last poll at or before ``since`` (strict: the first after it).
                counted = self._history.intervals(since)
                if strict:
                    counted = [iv for iv in counted if iv.start >= since - 0.05]
                backends = admin_counts.from_history(counted, self._bounds)
            elif tally is not None:
                return Counts(
                    since, now, build(tally.backends(since), tally, since), self.name, basis="access log"
                )
            else:
                when = time.strftime("%H:%M:%S", time.localtime(self._first_poll or now))
                reason = f"no counts from before {when}: this source started then, and there is no access log"
                return Counts(since, now, {}, self.name, reason)
        return Counts(since, now, build(backends, tally, since), self.name)

    def client_keys(self) -> list[str]:
        if self._counter is not None and self._counter.headers:
            return [SOURCE, *self._counter.headers]
        return self._log.client_keys() if self._log is not None else [SOURCE]

    def status(self) -> str:
        return self._health.text()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._poll_lock:
            if self._http is not None:
                self._http.close()
