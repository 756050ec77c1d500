"""Rate-limit triage: which routes refused requests over a window, how hard, since when, and who.

Routes are ranked by the 429s they answered over a window the operator picks (1 m, 5 m, 15 m;
default 5 m), then by 429/s now. A route is *limiting* while its refusals keep coming: the last
one less than ``GAP_S`` ago; its stretch began after the last quiet gap longer than that (bursts
every 15 s make one stretch, not one per burst). Counts come from ``MetricsSource.counts`` (the
access log names each refused request's route and client), so a burst is still on the board
minutes later, between bursts, and in a headless command started after it.

Who was refused comes from an access log too: ``client_source()`` says which one (the gateway's
file, the gateway pods' logs) or why there is none to read, so an empty client list is never
taken for "nobody" when nobody could be named.

A shadowed limit refuses nothing; ``report()`` adds what each would refuse if enforced, and whom
(``connectors.shadow``), so the ranking never reads "0 % refused" as "harmless".

``triage()``, ``report()``, ``shadowed()`` and ``client_source()`` block; ``rank()`` and
``stretch()`` are pure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import Connector
from .errors import GatewayError, MetricsError
from .metrics import MetricsSource, Snapshot
from .metrics.clients import SOURCE
from .metrics.counts import Counts, RouteCounts, window_start
from .model import RateLimit, Route
from .shadow import ShadowLimit

WINDOWS: dict[str, float] = {"1m": 60.0, "5m": 300.0, "15m": 900.0}
DEFAULT_WINDOW = "5m"
GAP_S = 60.0
"""Refusals further apart than this end a stretch of limiting."""
STRETCH_WINDOW_S = 3600.0
"""How far back the start of the current stretch of 429s is looked for."""


@dataclass(frozen=True)
class LimitedRoute:
    """A route in the triage ranking: its 429s over the window and now, its limit, since when."""

    route: str
    limited_rps: float  # 429/s now
    rps: float  # all requests/s now, limited ones included
    limit: RateLimit | None
    since: float | None = None  # unix time the current stretch of 429s began; None when not limiting
    since_before_window: bool = False  # the stretch began before the time looked back over
    limited: int = 0  # 429s over the window
    requests: int = 0  # all requests over the window, those Envoy answered itself included
    last: float | None = None  # unix time of the newest 429 in the window
    window_s: float = 300.0

    @property
    def limited_pct(self) -> float:
        """Share of the window's requests refused (now's, without window counts)."""
        if self.requests > 0:
            return 100.0 * self.limited / self.requests
        return 100.0 * self.limited_rps / self.rps if self.rps > 0 else 0.0

    @property
    def limiting(self) -> bool:
        """Refusing requests in the current stretch (the last 429 less than ``GAP_S`` ago)."""
        return self.since is not None

    def limiting_for(self, now: float) -> float | None:
        return None if self.since is None else max(0.0, now - self.since)


def stretch(
    limited_at: Sequence[tuple[int, int]],
    now: float,
    *,
    gap_s: float = GAP_S,
    looked_from: float | None = None,
) -> tuple[float | None, bool]:
    """When the current stretch of 429s began, from (second, 429s) pairs oldest first: walk back
    from the newest while refusals are at most ``gap_s`` apart. (None, False) when the newest is
    more than ``gap_s`` before ``now``; the flag says the stretch reaches back to ``looked_from``."""
    seconds = [s for s, n in limited_at if n > 0]
    if not seconds or now - (seconds[-1] + 1) > gap_s:
        return None, False
    start = seconds[-1]
    for s in reversed(seconds[:-1]):
        if start - (s + 1) > gap_s:
            break
        start = s
    reaches = looked_from is not None and start - looked_from <= gap_s
    return float(start), reaches


def limiting_since(
    times: Sequence[float], values: Sequence[float | None], step: float, *, gap_steps: int = 1
) -> tuple[float | None, bool]:
    """When the current stretch of 429s began, from a 429/s chart series (``times`` are step ends):
    walk back from the newest step with data while steps show 429s, forgiving up to ``gap_steps``
    steps with no data. (None, False) when the newest data shows no 429s."""
    i = len(values) - 1
    while i >= 0 and values[i] is None:
        i -= 1
    if i < 0 or not values[i]:
        return None, False
    start = times[i] - step
    gaps = 0
    while i >= 0:
        v = values[i]
        if v is None:
            gaps += 1
            if gaps > gap_steps:
                break
        elif v > 0:
            gaps = 0
            start = times[i] - step
        else:
            break
        i -= 1
    return start, i < 0


def rank(
    routes: Sequence[Route],
    snapshot: Snapshot,
    stretches: Mapping[str, tuple[float | None, bool]] | None = None,
    window: Mapping[str, RouteCounts] | None = None,
    window_s: float = 300.0,
) -> list[LimitedRoute]:
    """Routes with a rate limit, with 429s over the window or with 429s now: the most refused over
    the window first, then by 429/s now, then by the share refused, then by name."""
    stretches = stretches or {}
    window = window or {}
    rows = []
    for route in routes:
        stats = snapshot.routes.get(route.name)
        now_limited = stats.limited_rps if stats is not None else 0.0
        counted = window.get(route.name)
        limited = counted.limited if counted is not None else 0
        if route.rate_limit is None and now_limited <= 0 and limited <= 0:
            continue
        since, before = stretches.get(route.name, (None, False))
        rows.append(
            LimitedRoute(
                route=route.name,
                limited_rps=now_limited,
                rps=stats.rps if stats is not None else 0.0,
                limit=route.rate_limit,
                since=since,
                since_before_window=before and since is not None,
                limited=limited,
                requests=counted.requests if counted is not None else 0,
                last=float(counted.limited_at[-1][0] + 1)
                if counted is not None and counted.limited_at
                else None,
                window_s=window_s,
            )
        )
    rows.sort(key=lambda r: (-r.limited, -r.limited_rps, -r.limited_pct, r.route))
    return rows


def _counts(metrics: MetricsSource, since: float) -> Counts:
    counts = metrics.counts(since)
    if not counts.ok:
        raise MetricsError(counts.status)
    return counts


def triage(connector: Connector, metrics: MetricsSource, window_s: float = 300.0) -> list[LimitedRoute]:
    """Blocking: the ranked rows over the last ``window_s`` seconds. Raises MetricsError when the
    source cannot count."""
    routes = connector.list_routes()
    snapshot = metrics.snapshot()
    now = time.time()
    # Moving windows rounded (``window_start``): the access log is then read again only every so often.
    looked_from = window_start(max(window_s, STRETCH_WINDOW_S), now, 60.0)
    long = _counts(metrics, looked_from)  # the stretch may have begun before the window
    window = _counts(metrics, window_start(window_s, now))
    stretches = {
        name: stretch(r.limited_at, now, looked_from=looked_from)
        for name, r in long.routes.items()
        if r.limited_at
    }
    return rank(routes, snapshot, stretches, window.routes, window_s)


@dataclass(frozen=True)
class TriageReport:
    """``triage``: the ranking and the top limited clients of each limiting route, over one window,
    and what each shadowed limit would refuse (and whom) if it were enforced."""

    window_s: float
    by: str
    rows: list[LimitedRoute]
    clients: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
    shadow: dict[str, ShadowLimit] = field(default_factory=dict)
    shadow_problem: str = ""  # why the shadowed limits could not be read
    clients_notes: dict[str, str] = field(default_factory=dict)  # route -> its top address is everyone

    @property
    def message(self) -> str:
        """One line: the headline, or what an empty board means."""
        limited = [r for r in self.rows if r.limited > 0]
        if not limited:
            return f"no 429s in the last {window_label(self.window_s)}"
        limiting = sum(1 for r in self.rows if r.limiting)
        total = sum(r.limited for r in limited)
        return (
            f"{total:,} x 429 on {len(limited)} route{'s' if len(limited) != 1 else ''} in the last "
            f"{window_label(self.window_s)}; {limiting} limiting now"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "window": window_label(self.window_s),
            "window_s": self.window_s,
            "by": self.by,
            "message": self.message,
            "routes": [
                {
                    **_row_json(r, self.clients.get(r.route, []), self.shadow.get(r.route)),
                    "clients_note": self.clients_notes.get(r.route),
                }
                for r in self.rows
            ],
            "shadow_problem": self.shadow_problem or None,
        }


def _would_refuse(shadow: ShadowLimit | None) -> dict[str, Any] | None:
    """What a shadowed limit would refuse if enforced (None for a limit that is not shadowed)."""
    if shadow is None:
        return None
    return {
        "requests": shadow.would_refuse,
        "of": shadow.requests,
        "percent": round(shadow.pct, 2),
        "clients": [{"client": c, "would_refuse": n} for c, n in shadow.clients],
        "clients_from": shadow.origin or None,
        "clients_complete": (not shadow.behind) if shadow.origin else None,
        "note": shadow.note,
    }


def _row_json(r: LimitedRoute, clients: list[tuple[str, int]], shadow: ShadowLimit | None) -> dict[str, Any]:
    limit = r.limit
    return {
        "route": r.route,
        "limited": r.limited,
        "requests": r.requests,
        "limited_pct": round(r.limited_pct, 1),
        "limited_now_rps": round(r.limited_rps, 2),
        "rps_now": round(r.rps, 2),
        "limiting": r.limiting,
        "since": r.since,
        "since_before": r.since_before_window,
        "last_429": r.last,
        "limit": None
        if limit is None
        else {
            "requests": limit.requests,
            "interval_s": limit.interval,
            "burst": limit.bucket_size,
            "enabled": limit.enabled,
            "shadow": limit.shadow,
        },
        "clients": [{"client": c, "limited": n} for c, n in clients],
        "would_refuse": _would_refuse(shadow),
    }


def report(
    connector: Connector, metrics: MetricsSource, window_s: float = 300.0, by: str = SOURCE, top: int = 5
) -> TriageReport:
    """Blocking: the ranking, and the ``top`` limited clients of every route with 429s in the window."""
    rows = triage(connector, metrics, window_s)
    clients = {
        r.route: metrics.top_limited_clients(r.route, by, window_s)[:top] for r in rows if r.limited > 0
    }
    shadow, problem = shadowed(connector, rows)
    notes = every_client_notes(connector, metrics, window_s, clients) if by == SOURCE else {}
    return TriageReport(
        window_s, by, rows, clients, shadow=shadow, shadow_problem=problem, clients_notes=notes
    )


def every_client_notes(
    connector: Connector,
    metrics: MetricsSource,
    window_s: float,
    clients: Mapping[str, list[tuple[str, int]]],
) -> dict[str, str]:
    """Blocking (the access log): for each route whose top client by address sent (nearly) all its
    requests, why that names nobody (``client_share.every_client_note``)."""
    from .client_share import every_client_note, recent_traffic

    headers = [k for k in metrics.client_keys() if k != SOURCE]
    notes = {}
    for route, top in clients.items():
        if top and (
            note := every_client_note(recent_traffic(connector, route, window_s), top[0][0], headers)
        ):
            notes[route] = note
    return notes


def shadowed(connector: Connector, rows: Sequence[LimitedRoute]) -> tuple[dict[str, ShadowLimit], str]:
    """Blocking: the shadowed limits among ``rows`` by route, or why they cannot be read. Asked only
    when some row is shadowed (a gateway that cannot shadow refuses the question)."""
    if not any(r.limit is not None and r.limit.enabled and r.limit.shadow for r in rows):
        return {}, ""
    try:
        return {s.route: s for s in connector.shadow_limits()}, ""
    except GatewayError as exc:
        return {}, f"{exc.title}: {exc}"


@dataclass(frozen=True)
class ClientSource:
    """Where a route's client list is read (``the access log``), or why it cannot be (``problem``)."""

    origin: str
    problem: str = ""

    def line(self, window: str) -> str:
        """``from the access log, last 5m``, or ``clients unknown: <why>``."""
        return f"clients unknown: {self.problem}" if self.problem else f"from {self.origin}, last {window}"


def client_source(connector: Connector) -> ClientSource:
    """Blocking (a stat): the log the clients are named from, and whether it can be read now."""
    hooks = connector.metrics_hooks()
    path = hooks.access_log_path
    if path is not None:
        if not path.exists():  # moved away (logrotate): Envoy writes on into the moved file
            return ClientSource("the access log", f"the access log {path} is not there")
        if not os.access(path, os.R_OK):
            return ClientSource("the access log", f"the access log {path} cannot be read (permission)")
        return ClientSource("the access log")
    if hooks.log_lines is not None:
        return ClientSource("the gateway pods' logs")
    return ClientSource("", "this gateway offers no access log to name clients from")


def window_label(seconds: float) -> str:
    for label, s in WINDOWS.items():
        if s == seconds:
            return label
    return f"{seconds / 60:g}m" if seconds % 60 == 0 else f"{seconds:g}s"
