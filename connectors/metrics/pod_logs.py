"""Who is being rate limited on a cluster gateway: the gateway pods' JSON access logs, read through the
Kubernetes API (``CoreV1Api.read_namespaced_pod_log``, the ``pods/log`` subresource).

Envoy Gateway's proxies log JSON by default (``route_name`` like
``httproute/<ns>/<name>/rule/<i>/match/<j>/<host>``); Istio's do when the mesh config sets
``accessLogEncoding: JSON`` (``route_name`` is the VirtualService's ``http[].name``). Both carry
``response_code``, ``response_flags`` (``RL`` = refused by the rate limiter) and
``downstream_remote_address``. A connector hands ``log_reader(...)`` to the Prometheus source as
``gateway_log_lines`` for its top refused clients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import MetricsError
from .access_log import LogRecord, parse_lines
from .clients import SOURCE, client_label

MAX_LINES_PER_POD = 50_000


@dataclass(frozen=True)
class GatewayPods:
    """Where a gateway's proxies run and which container logs the requests."""

    namespace: str
    label_selector: str
    container: str


def envoy_gateway_pods(gateway: str, namespace: str = "envoy-gateway-system") -> GatewayPods:
    """The Envoy proxies Envoy Gateway runs for ``gateway`` (its default deployment)."""
    return GatewayPods(namespace, f"gateway.envoyproxy.io/owning-gateway-name={gateway}", "envoy")


def istio_ingress_pods(
    namespace: str = "istio-system", selector: str = "istio=ingressgateway"
) -> GatewayPods:
    return GatewayPods(namespace, selector, "istio-proxy")


def read_pod_logs(
    core: Any, pods: GatewayPods, since_s: float, max_lines: int = MAX_LINES_PER_POD
) -> list[str]:
    """Log lines of every gateway pod over the last ``since_s`` seconds. ``core`` is a
    ``kubernetes.client.CoreV1Api``. Raises MetricsError with the API server's reason."""
    from kubernetes.client.exceptions import ApiException

    try:
        listing = core.list_namespaced_pod(pods.namespace, label_selector=pods.label_selector)
        lines: list[str] = []
        for pod in listing.items:
            text = core.read_namespaced_pod_log(
                pod.metadata.name,
                pods.namespace,
                container=pods.container,
                since_seconds=max(1, int(since_s)),
                tail_lines=max_lines,
            )
            lines += str(text or "").splitlines()
    except ApiException as exc:
        if exc.status in (401, 403):
            raise MetricsError(
                f"not allowed to read the gateway pods' logs in {pods.namespace} (needs get on pods/log)"
            ) from exc
        raise MetricsError(f"cannot read the gateway pods' logs in {pods.namespace}: {exc.reason}") from exc
    return lines


def log_reader(core: Any, pods: GatewayPods) -> Callable[[float], list[str]]:
    """``since_s -> lines``, for ``PrometheusSource(log_lines=...)``."""
    return lambda since_s: read_pod_logs(core, pods, since_s)


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
