"""The interface every metrics source implements, and how a source reports that it has no data.

Sources block (HTTP, files); the UI calls them from worker threads. A source that cannot get data
(Prometheus down, 401, PromQL error, Envoy gone) does not raise from ``snapshot()``/``series()``: it
answers an empty result whose ``status`` reads ``no data since HH:MM:SS: <reason>``, so a chart or a
table shows why it is empty instead of freezing or showing a traceback. Bad configuration (a
malformed URL) raises ``MetricsError`` when the source is made.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from .clients import SOURCE
from .types import ChartData, Scope, Snapshot

if TYPE_CHECKING:
    from .counts import Counts

OK = "ok"


class MetricsSource(ABC):
    """Live and historical traffic figures of one gateway."""

    name: ClassVar[str] = "?"  # "envoy-admin", "prometheus"
    # Current figures are rates over this many seconds: after a change, wait this long before the
    # figures show only what happened since.
    rate_window_s: float = 5.0

    @abstractmethod
    def snapshot(self) -> Snapshot:
        """Current per-route figures (rates over the last few seconds)."""

    @abstractmethod
    def series(self, scope: Scope, window_s: float) -> ChartData:
        """Requests/s, responses by status class, 429/s and p50/p95/p99 latency over the last
        ``window_s`` seconds for the gateway, a route or one backend of a route."""

    @abstractmethod
    def top_limited_clients(
        self, route: str, by: str = SOURCE, window_s: float = 300.0
    ) -> list[tuple[str, int]]:
        """The clients that received the most 429s on ``route`` over the window, most first, grouped
        by source address (``by="source"``) or by the value of a logged request header (credentials
        shown masked). Empty when the source cannot tell clients apart."""

    def counts(self, since: float | None, *, strict: bool = False) -> Counts:
        """Requests per route and per backend since ``since`` (unix seconds; None: since the gateway
        started), as counter deltas (``counts.Counts``). Counters are read every second or so: the
        count starts at the last reading at or before ``since`` (a burst right after ``since`` is
        counted; a little of what came before may be), or with ``strict`` at the first reading after
        it (nothing from before; a little of what came just after may be left out: a canary step
        must not be judged on the previous step's errors). A source that cannot count answers a
        ``Counts`` whose status says why."""
        from .counts import Counts

        return Counts(since, time.time(), {}, self.name, f"the {self.name} source cannot count requests")

    def client_keys(self) -> list[str]:
        """What ``top_limited_clients`` can group by: "source" and the request headers that are logged."""
        return [SOURCE]

    @abstractmethod
    def status(self) -> str:
        """``"ok"`` or ``"no data since HH:MM:SS: reason"``."""

    def close(self) -> None:
        """Stop polling and release connections."""
        return None


class Health:
    """Remembers the last success and the current failure reason of a source (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ok = time.time()  # "no data since" the source was made, until the first success
        self._reason: str | None = None

    def ok(self) -> None:
        with self._lock:
            self._last_ok = time.time()
            self._reason = None

    def fail(self, reason: str) -> str:
        with self._lock:
            self._reason = reason
        return self.text()

    @property
    def failing(self) -> bool:
        return self._reason is not None

    def text(self) -> str:
        with self._lock:
            if self._reason is None:
                return OK
            since = time.strftime("%H:%M:%S", time.localtime(self._last_ok))
            return f"no data since {since}: {self._reason}"
