"""Shadow limits of a native gateway: the counters of each route's shadow limiter (one admin
``/stats`` read) and the access-log lines that name would-be refused requests."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..bundle import tail_lines, timestamp
from ..metrics_contract import SHADOW_STAT_PREFIX
from ..shadow import CLIENT_WINDOW_S, ShadowLimit
from .render_shadow import is_shadow
from .state import GatewayState

if TYPE_CHECKING:
    from ..model import Route
    from .lifecycle import EnvoyLifecycle

_STATS = rf"^{SHADOW_STAT_PREFIX}.+\.http_local_rate_limit\.(enabled|rate_limited|enforced)$"


def client_label(record: dict[str, Any], headers: list[str]) -> str:
    """The first logged client header with a value (``x-user-id=u1``), else the address."""
    for h in headers:
        value = record.get(h)
        if isinstance(value, str) and value:
            return f"{h}={value}"
    return "ip=" + str(record.get("client") or "?").rsplit(":", 1)[0]


def would_be_clients(lines: list[str], headers: list[str], since: float) -> dict[str, Counter[str]]:
    """Per route, the clients whose requests its shadow limit would have refused since ``since``."""
    out: dict[str, Counter[str]] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        route = record.get("shadow_limited") if isinstance(record, dict) else None
        if not route:
            continue
        t = timestamp(record.get("time"))
        if t is not None and t < since:
            continue
        out.setdefault(str(route), Counter())[client_label(record, headers)] += 1
    return out


def read_shadow(
    conn: EnvoyLifecycle, all_routes: Sequence[Route], window_s: float = CLIENT_WINDOW_S
) -> list[ShadowLimit]:
    routes = [r for r in all_routes if is_shadow(r)]
    if not routes:
        return []
    stats = conn.admin.stats(_STATS)
    headers = list(GatewayState.read(conn.state_dir).access_log_headers)
    path, origin, note = conn.access_log_path, "the access log", ""
    if not path.exists():  # moved away (logrotate): the clients cannot be named, not "none"
        origin, note = "", f"the access log {path} is not there"
    try:
        clients = would_be_clients(tail_lines(path), headers, time.time() - window_s)
    except OSError as exc:
        origin, note, clients = "", f"the access log {path} cannot be read: {exc.strerror or exc}", {}

    def counter(route: str, name: str) -> int:
        return int(stats.get(f"{SHADOW_STAT_PREFIX}{route}.http_local_rate_limit.{name}") or 0)

    out = []
    for r in routes:
        assert r.rate_limit is not None  # is_shadow
        out.append(
            ShadowLimit(
                route=r.name,
                limit=r.rate_limit,
                requests=counter(r.name, "enabled"),
                would_refuse=counter(r.name, "rate_limited"),
                enforced=counter(r.name, "enforced"),
                clients=tuple(clients.get(r.name, Counter()).most_common(20)),
                note=note,
                origin=origin,
            )
        )
    return out
