"""Who is being rate limited, from the native gateway's access log.

Envoy's limiter counts refusals for the whole filter; the access log names each refused request's
route, the backend the route had picked, the client address and the logged request headers. Records
go into the history interval in which the request happened (Envoy flushes the log seconds after the
requests), so per-route 429 charts line up with the counters polled at the time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .access_log import LogRecord, LogTail, parse_lines
from .clients import SOURCE, client_label
from .ring import ClientKey, History, Interval, Key

ClusterLookup = Callable[[str], tuple[str, str] | None]
SPLIT_WINDOW_S = 30.0
"""How far back records are counted to share the limiter's total out between routes."""


def count_records(history: History, records: list[LogRecord], clusters: ClusterLookup) -> None:
    """Add the rate-limited requests of ``records`` to the intervals they happened in, per route (and
    backend, when the log names the cluster the route had picked) and per client; and the other
    requests Envoy answered itself, per route and status class."""
    for r in records:
        if not r.route or not (r.rate_limited or r.local):
            continue
        iv = history.find(r.time)
        if iv is None:
            continue  # older than the recent past: the coarse history has moved on
        if not r.rate_limited:
            # Answered by Envoy itself (a JWT 401, a CORS preflight): the route's, no backend's.
            local: Key = ("loc", r.route, f"{r.status // 100}xx")
            iv.counts[local] = iv.counts.get(local, 0.0) + 1
            continue
        rb = clusters(r.cluster) if r.cluster else None
        backend = rb[1] if rb is not None and rb[0] == r.route else ""
        key: Key = ("lim", r.route, backend)
        iv.counts[key] = iv.counts.get(key, 0.0) + 1
        clients: list[ClientKey] = []
        if r.client:
            clients.append((r.route, SOURCE, client_label(SOURCE, r.client)))
        clients += [(r.route, h, client_label(h, v)) for h, v in r.headers.items()]
        iv.clients.update(clients)


def top_clients(
    history: History, route: str, by: str, window_s: float, limit: int = 20
) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for iv in history.intervals(time.time() - window_s):
        for (r, field, value), n in iv.clients.items():
            if r == route and field == by:
                counts[value] += n
    return counts.most_common(limit)


def recent_split(history: History, window_s: float = SPLIT_WINDOW_S) -> Counter[tuple[str, str]]:
    """Rate-limited requests per (route, backend) over the last ``window_s`` seconds."""
    latest = history.latest
    out: Counter[tuple[str, str]] = Counter()
    if latest is None:
        return out
    for iv in history.intervals(latest.end - window_s):
        for k, v in iv.counts.items():
            if k[0] == "lim":
                out[(k[1], k[2])] += int(v)
    return out


def local_routes(history: History, window_s: float = SPLIT_WINDOW_S) -> set[str]:
    """Routes with requests Envoy answered itself over the last ``window_s`` seconds."""
    latest = history.latest
    if latest is None:
        return set()
    return {k[1] for iv in history.intervals(latest.end - window_s) for k in iv.counts if k[0] == "loc"}


def share(split: Counter[tuple[str, str]], total: float, route: str, backend: str | None) -> float | None:
    """``total`` (the limiter's exact count or rate) shared out in the proportions of ``split``;
    None when the log has seen no refusal to go by."""
    seen = sum(split.values())
    if not seen:
        return None
    n = sum(v for (r, b), v in split.items() if r == route and (backend is None or b == backend))
    return total * n / seen


class LimitedLog:
    """Follows an access log into a history of its own, one interval per ``poll()``."""

    def __init__(self, path: Path, clusters: ClusterLookup, history: History | None = None) -> None:
        self._tail = LogTail(path)
        self._clusters = clusters
        self.history = history if history is not None else History()
        self._last = time.time()
        self.headers: dict[str, None] = {}

    def poll(self, *, new_interval: bool = True) -> None:
        """Read the new lines; ``new_interval`` closes an interval first (off when the caller's own
        poll already added one to a shared history)."""
        now = time.time()
        if new_interval:
            self.history.add(Interval(self._last, now))
            self._last = now
        records = parse_lines(self._tail.read_lines())
        for r in records:
            self.headers.update(dict.fromkeys(r.headers))
        count_records(self.history, records, self._clusters)

    def client_keys(self) -> list[str]:
        return [SOURCE, *self.headers]
