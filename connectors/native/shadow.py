"""Shadow limits of a native gateway: the counters of each route's shadow limiter (one admin
``/stats`` read) and the access-log lines that name would-be refused requests.

Envoy writes its access log about a second after the requests; right after a burst the counters
are ahead of the log, so the clients are said to be incomplete (``ShadowLimit.behind``) rather
than "0 clients"."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..bundle import tail_lines, timestamp
from ..metrics_contract import SHADOW_STAT_PREFIX
from ..shadow import CLIENT_WINDOW_S, ShadowLimit
from .render_shadow import is_shadow
from .state import GatewayState

if TYPE_CHECKING:
    from ..model import Route
    from .lifecycle import EnvoyLifecycle

TAIL_BYTES = 2_000_000
"""How much of the access log's end is read (~6,000 requests)."""
_STATS = (
    rf"^({SHADOW_STAT_PREFIX}.+\.http_local_rate_limit\.(enabled|rate_limited|enforced)"
    r"|server\.uptime|filesystem\.write_total_buffered)$"
)


def client_label(record: dict[str, Any], headers: list[str]) -> str:
    """The first logged client header with a value (``x-user-id=u1``), else the address."""
    for h in headers:
        value = record.get(h)
        if isinstance(value, str) and value:
            return f"{h}={value}"
    return "ip=" + str(record.get("client") or "?").rsplit(":", 1)[0]


@dataclass
class LogReading:
    """What the access log's tail says about would-be refusals."""

    clients: dict[str, Counter[str]] = field(default_factory=dict)  # per route, in the window
    since_start: Counter[str] = field(default_factory=Counter)  # per route, since Envoy started
    first: float | None = None  # the time of the oldest line read: how far back the reading goes
    whole: bool = False  # the whole file was read (it holds every line since it was made)


def read_log(lines: list[str], headers: list[str], since: float, started: float) -> LogReading:
    """Per route, the clients whose requests its shadow limit would have refused since ``since``,
    and how many would-be refusals the log names since ``started`` (Envoy's start)."""
    out = LogReading()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        t = timestamp(record.get("time"))
        if out.first is None and t is not None:
            out.first = t
        route = record.get("shadow_limited")
        if not route or record.get("route", route) != route:  # a limiter names its own route only
            continue
        if t is None or t >= started - 1.0:  # Envoy's uptime is in whole seconds
            out.since_start[str(route)] += 1
        if t is not None and t < since:
            continue
        out.clients.setdefault(str(route), Counter())[client_label(record, headers)] += 1
    return out


def behind(reading: LogReading, route: str, would_refuse: int, started: float, buffered: int) -> bool:
    """Whether the log has not caught up with Envoy's counters for ``route`` (it writes about a
    second after the requests): when the reading holds every line since Envoy started (the whole
    file, or a tail reaching back before the start), the log names fewer would-be refusals than
    Envoy counted; else (a long log's tail) Envoy still holds unwritten log bytes."""
    if reading.whole or (reading.first is not None and reading.first <= started):
        return reading.since_start[route] < would_refuse
    return buffered > 0


def read_shadow(
    conn: EnvoyLifecycle, all_routes: Sequence[Route], window_s: float = CLIENT_WINDOW_S
) -> list[ShadowLimit]:
    routes = [r for r in all_routes if is_shadow(r)]
    if not routes:
        return []
    stats = conn.admin.stats(_STATS)  # before the log: what it counted is then written or behind
    now = time.time()
    started = now - float(stats.get("server.uptime") or 0)
    buffered = int(stats.get("filesystem.write_total_buffered") or 0)
    headers = list(GatewayState.read(conn.state_dir).access_log_headers)
    path, origin, note = conn.access_log_path, "the access log", ""
    if not path.exists():  # moved away (logrotate): the clients cannot be named, not "none"
        origin, note = "", f"the access log {path} is not there"
    reading = LogReading()
    try:
        if origin:
            reading = read_log(tail_lines(path, TAIL_BYTES), headers, now - window_s, started)
            reading.whole = path.stat().st_size <= TAIL_BYTES
    except FileNotFoundError:  # moved away between the two looks
        origin, note, reading = "", f"the access log {path} is not there", LogReading()
    except OSError as exc:
        origin, note = "", f"the access log {path} cannot be read: {exc.strerror or exc}"

    def counter(route: str, name: str) -> int:
        return int(stats.get(f"{SHADOW_STAT_PREFIX}{route}.http_local_rate_limit.{name}") or 0)

    out = []
    for r in routes:
        assert r.rate_limit is not None  # is_shadow
        would = counter(r.name, "rate_limited")
        out.append(
            ShadowLimit(
                route=r.name,
                limit=r.rate_limit,
                requests=counter(r.name, "enabled"),
                would_refuse=would,
                enforced=counter(r.name, "enforced"),
                clients=tuple(reading.clients.get(r.name, Counter()).most_common(20)),
                note=note,
                origin=origin,
                behind=bool(origin) and behind(reading, r.name, would, started, buffered),
            )
        )
    return out
