"""Who is being rate limited on a cluster gateway: the gateway pods' JSON access logs, read through the
Kubernetes API (``CoreV1Api.read_namespaced_pod_log``, the ``pods/log`` subresource).

Envoy Gateway's proxies log JSON by default (``route_name`` like
``httproute/<ns>/<name>/rule/<i>/match/<j>/<host>``); Istio's do when the mesh config sets
``accessLogEncoding: JSON`` (``route_name`` is the VirtualService's ``http[].name``). Both carry
``response_code``, ``response_flags`` (``RL`` = refused by the rate limiter) and
``downstream_remote_address``. The Kubernetes connectors read the lines (``connectors/kube/
gateway_logs.py``) and hand them to the Prometheus source as ``gateway_log_lines``; this module ranks them.
"""

from __future__ import annotations

from collections.abc import Iterable

from .access_log import LogRecord, parse_lines
from .clients import SOURCE, client_label


def route_matches(logged: str, route: str) -> bool:
    """Whether a logged route name is ``route``: the same name, or an Envoy Gateway route name
    (``httproute/<ns>/<name>/rule/...``) of the HTTPRoute ``<ns>/<name>`` (or plain ``<name>``)."""
    if logged == route:
        return True
    parts = logged.split("/")
    if len(parts) >= 3 and parts[0] == "httproute":
        return route in (f"{parts[1]}/{parts[2]}", parts[2])
    return False


def top_clients(
    records: Iterable[LogRecord], route: str, by: str = SOURCE, limit: int = 20
) -> list[tuple[str, int]]:
    """The clients that got the most rate-limit refusals on ``route``, most first."""
    counts: dict[str, int] = {}
    for r in records:
        if not r.rate_limited or not route_matches(r.route, route):
            continue
        value = r.client if by == SOURCE else r.headers.get(by)
        if value:
            label = client_label(by, value)
            counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def top_clients_in_lines(lines: Iterable[str], route: str, by: str = SOURCE) -> list[tuple[str, int]]:
    return top_clients(parse_lines(lines), route, by)
