"""Request counts since a time: counter deltas, not rates, the same definitions for every source.

A route's ``requests`` are every request the gateway answered on it, including those Envoy answered
itself (``local``: JWT 401s, rate-limit 429s, CORS preflights); a backend's ``requests`` are those
that reached it (its cluster's ``upstream_rq_total``). Sources fill ``Counts`` from their counters:
Envoy's admin stats (the poll history, or Envoy's cumulative counters when the time is before
Envoy started), Prometheus (the counters at that time and now). The requests Envoy answered itself
are in no per-route counter: they come from the access log (``LogCounter``), which names every
request's route, status, flags, upstream and client.
"""

from __future__ import annotations

import math
import os
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .access_log import LogRecord, parse_line, parse_lines
from .clients import SOURCE, client_label

Target = tuple[str, str]  # (route, backend)
ClusterLookup = Callable[[str], Target | None]


@dataclass(frozen=True)
class BackendCounts:
    """Requests that reached one backend of a route since a time, and how they went."""

    backend: str
    requests: int
    errors: int = 0  # 5xx answers among them
    p99_ms: float | None = None

    @property
    def error_pct(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class RouteCounts:
    """Everything one route answered since a time."""

    route: str
    requests: int  # all of them: the backends' plus ``local``
    local: int = 0  # answered by Envoy itself (401, 429, preflights): reached no backend
    limited: int = 0  # of ``local``: refused by the rate limiter (429)
    backends: dict[str, BackendCounts] = field(default_factory=dict)
    # (unix second, 429s in it), oldest first: when the route was limiting
    limited_at: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Counts:
    """Per-route counts between ``since`` (None: since the gateway started) and ``until``."""

    since: float | None
    until: float
    routes: dict[str, RouteCounts]
    source: str
    status: str = "ok"  # or "no data since ...: reason"
    basis: str = "counters"  # where the backends' counts came from: "counters" or "access log"

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def build(
    backends: Mapping[Target, BackendCounts], tally: LogTally | None, since: float | None
) -> dict[str, RouteCounts]:
    """Route counts from per-(route, backend) counts and the access log's local replies."""
    names = {r for r, _ in backends}
    if tally is not None:
        names |= tally.routes(since)
    out = {}
    for route in sorted(names):
        mine = {b: c for (r, b), c in backends.items() if r == route}
        local = limited = 0
        times: tuple[tuple[int, int], ...] = ()
        if tally is not None:
            local, limited, times = (
                tally.local(route, since),
                tally.limited(route, since),
                tally.limited_at(route, since),
            )
        reached = sum(c.requests for c in mine.values())
        out[route] = RouteCounts(route, reached + local, local, limited, mine, times)
    return out


def window_start(window_s: float, now: float, step: float = 10.0) -> float:
    """The start of a moving window, rounded down to ``step`` seconds: asked every second, it stays
    the same for ``step`` seconds, so the access log is not read again from it every time."""
    return math.floor((now - window_s) / step) * step


# -- the access log ---------------------------------------------------------------------------


class LogTally:
    """Access-log records counted per tenth of a second: ``("loc", route)``, ``("lim", route)``,
    ``("up", route, backend)``, ``("err", route, backend)`` and ``("cli", route, by, label)`` (who
    got the 429s)."""

    STEP = 10  # buckets per second

    def __init__(self) -> None:
        self.buckets: dict[int, Counter[tuple[str, ...]]] = {}
        self.exact_from: float | None = None  # records before this were never added

    def add(self, record: LogRecord, target: Target | None) -> None:
        if record.time is None or not record.route:
            return
        c = self.buckets.setdefault(math.floor(record.time * self.STEP), Counter())
        route = record.route
        if record.rate_limited:
            c[("loc", route)] += 1
            c[("lim", route)] += 1
            if record.client:
                c[("cli", route, SOURCE, client_label(SOURCE, record.client))] += 1
            for h, v in record.headers.items():
                c[("cli", route, h, client_label(h, v))] += 1
        elif record.local:
            c[("loc", route)] += 1
        elif target is not None and target[0] == route:
            c[("up", route, target[1])] += 1
            if record.status >= 500:
                c[("err", route, target[1])] += 1

    def _since(self, since: float | None) -> Iterable[tuple[int, Counter[tuple[str, ...]]]]:
        # Records from ``since`` on: the bucket holding ``since`` only when it begins there, or when
        # nothing before ``since`` was added to it.
        if since is None:
            start = -1
        elif self.exact_from is not None and since <= self.exact_from:
            start = math.floor(since * self.STEP)
        else:
            start = math.ceil(since * self.STEP)
        return ((b, c) for b, c in sorted(self.buckets.items()) if b >= start)

    def total(self, key: tuple[str, ...], since: float | None) -> int:
        return sum(c[key] for _, c in self._since(since))

    def local(self, route: str, since: float | None) -> int:
        return self.total(("loc", route), since)

    def limited(self, route: str, since: float | None) -> int:
        return self.total(("lim", route), since)

    def limited_at(self, route: str, since: float | None) -> tuple[tuple[int, int], ...]:
        """(unix second, 429s in it) for the seconds with 429s, oldest first."""
        out: Counter[int] = Counter()
        for b, c in self._since(since):
            if c[("lim", route)]:
                out[b // self.STEP] += c[("lim", route)]
        return tuple(sorted(out.items()))

    def routes(self, since: float | None) -> set[str]:
        return {k[1] for _, c in self._since(since) for k in c}

    def backends(self, since: float | None) -> dict[Target, BackendCounts]:
        reached: Counter[Target] = Counter()
        errors: Counter[Target] = Counter()
        for _, c in self._since(since):
            for k, n in c.items():
                if k[0] == "up":
                    reached[(k[1], k[2])] += n
                elif k[0] == "err":
                    errors[(k[1], k[2])] += n
        return {t: BackendCounts(t[1], n, errors[t]) for t, n in reached.items()}

    def clients(self, route: str, by: str, since: float | None, limit: int = 20) -> list[tuple[str, int]]:
        out: Counter[str] = Counter()
        for _, c in self._since(since):
            for k, n in c.items():
                if k[0] == "cli" and k[1] == route and k[2] == by:
                    out[k[3]] += n
        return out.most_common(limit)


@dataclass
class _Scan:
    """One reading of the log from a time on: where it got to, and what it counted."""

    since: float
    inode: int
    offset: int
    tally: LogTally
    partial: bytes = b""


class LogCounter:
    """Counts an access log's records from a time on, exactly: a record counts when it began at or
    after that time. The first ask for a time finds it in the file by bisection; asking again for
    the same time reads only the lines appended since, so asking every second is cheap. A few
    times are kept at once (a canary step, a split, a triage window); callers with a moving window
    round their time so that it stays the same for a while."""

    SLOP_S = 10.0  # lines are written when requests end, so start times are only nearly in order
    KEPT = 6  # times read at once; the least recently asked is dropped

    def __init__(self, path: Path, clusters: ClusterLookup) -> None:
        self.path = path
        self._clusters = clusters
        self._scans: OrderedDict[float, _Scan] = OrderedDict()
        self.headers: dict[str, None] = {}

    def tally(self, since: float | None) -> LogTally:
        """The records from ``since`` on (None: the whole file), up to what Envoy has flushed."""
        try:
            st = os.stat(self.path)
        except OSError:
            return LogTally()  # not written yet: Envoy creates it on the first request
        start = 0.0 if since is None else since
        scan = self._scans.pop(start, None)
        if scan is None or st.st_ino != scan.inode or st.st_size < scan.offset:
            tally = LogTally()
            tally.exact_from = start
            offset = 0 if since is None else self._seek(start - self.SLOP_S, st.st_size)
            scan = _Scan(start, st.st_ino, offset, tally)
        self._scans[start] = scan
        while len(self._scans) > self.KEPT:
            self._scans.popitem(last=False)
        self._read(scan)
        return scan.tally

    def _read(self, scan: _Scan, chunk: int = 8 << 20) -> None:
        with open(self.path, "rb") as fh:
            fh.seek(scan.offset)
            while data := fh.read(chunk):
                scan.offset += len(data)
                lines = (scan.partial + data).split(b"\n")
                scan.partial = lines.pop()
                for r in parse_lines(ln.decode("utf-8", "replace") for ln in lines if ln):
                    self.headers.update(dict.fromkeys(r.headers))
                    if r.time is not None and r.time >= scan.since:
                        scan.tally.add(r, self._clusters(r.cluster) if r.cluster else None)

    def _seek(self, when: float, size: int) -> int:
        """The offset of a line start at or before the first line that began after ``when``."""
        lo, hi = 0, size
        with open(self.path, "rb") as fh:
            while hi - lo > 64 << 10:
                mid = (lo + hi) // 2
                fh.seek(mid)
                fh.readline()  # the rest of a line cut in the middle
                t = _line_time(fh.readline())
                if t is not None and t < when:
                    lo = mid
                else:
                    hi = mid
            if lo:
                fh.seek(lo)
                fh.readline()
                return fh.tell()
        return 0


def _line_time(line: bytes) -> float | None:
    record = parse_line(line.decode("utf-8", "replace")) if line else None
    return record.time if record is not None else None
