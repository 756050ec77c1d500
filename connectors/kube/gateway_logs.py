"""The gateway proxies' access logs, read through the Kubernetes API (``pods/log``), for the triage
view's "who is being refused" (``connectors.metrics`` calls a connector's ``gateway_log_lines``).

Where the proxies run depends on the gateway: Envoy Gateway labels them
``gateway.envoyproxy.io/owning-gateway-name``/``-namespace`` in its own namespace
(``envoy-gateway-system``, or the Gateway's namespace in its gateway-namespace mode); Istio's
ingress gateway is selected by the Gateway's ``selector`` (``istio: ingressgateway`` in
``istio-system`` by default); other Gateway API implementations label what they provision with
``gateway.networking.k8s.io/gateway-name`` (GEP-1762).

Reads are bounded (pods, lines and bytes per pod, the time window) and every failure becomes a
MetricsError that says what could not be read and why. Logged route names are rewritten to the
model's route names (Envoy Gateway logs ``httproute/<ns>/<name>/rule/<i>/match/<j>/<host>``, a route
of the model is one rule) so the metrics code matches them by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import GatewayError, MetricsError, NotFound, PermissionDenied
from .client import KubeClient
from .resources import POD, JsonDict

MAX_PODS = 16
TAIL_LINES = 20_000
LIMIT_BYTES = 8 * 1024 * 1024
ROUTE_FIELDS = ("route_name", "route")

Rename = Callable[[str], str | None]


@dataclass(frozen=True)
class PodSet:
    """Pods matching ``selector`` in ``namespace``; the log of the first of ``containers`` a pod has
    (its only container when none is named)."""

    namespace: str
    selector: str
    containers: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.selector} in {self.namespace}"


def _container(pod: JsonDict, preferred: tuple[str, ...]) -> str | None:
    names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name")]
    for name in preferred:
        if name in names:
            return name
    return names[0] if names else None


def find_pods(client: KubeClient, groups: Sequence[Sequence[PodSet]]) -> list[tuple[PodSet, JsonDict]]:
    """The pods of each group's first pod set that has any (alternatives: where a gateway's proxies
    may run), at most MAX_PODS in all."""
    found: list[tuple[PodSet, JsonDict]] = []
    for alternatives in groups:
        for pods in alternatives:
            listed = client.list_core(POD, pods.namespace, pods.selector, limit=MAX_PODS)
            running = [p for p in listed if (p.get("status") or {}).get("phase") in (None, "Running")]
            if running:
                found += [(pods, p) for p in running]
                break
    return found[:MAX_PODS]


def read_lines(
    client: KubeClient, groups: Sequence[Sequence[PodSet]], since_s: float, rename: Rename | None = None
) -> list[str]:
    """The log lines of the last ``since_s`` seconds of every gateway pod, route names renamed."""
    looked = "; ".join(" or ".join(p.describe() for p in alternatives) for alternatives in groups)
    try:
        pods = find_pods(client, groups)
        if not pods:
            raise MetricsError(f"no running gateway pods found (looked for pods labelled {looked})")
        lines: list[str] = []
        for pod_set, pod in pods:
            name = str((pod.get("metadata") or {}).get("name"))
            try:
                text = client.pod_log(
                    pod_set.namespace,
                    name,
                    container=_container(pod, pod_set.containers),
                    since_seconds=max(1, int(since_s)),
                    tail_lines=TAIL_LINES,
                    limit_bytes=LIMIT_BYTES,
                )
            except NotFound:
                continue  # the pod went away between the list and the read
            lines += text.splitlines()
    except PermissionDenied as exc:
        raise MetricsError(
            f"cannot read the gateway pods' logs ({looked}): {exc}. Reading them needs list on pods and "
            "get on pods/log in that namespace"
        ) from exc
    except MetricsError:
        raise
    except GatewayError as exc:
        raise MetricsError(f"cannot read the gateway pods' logs ({looked}): {exc}") from exc
    return [rename_route(line, rename) for line in lines] if rename is not None else lines


def rename_route(line: str, rename: Rename) -> str:
    """``line`` with its logged route name replaced by the model's name for it (when there is one)."""
    if '"route' not in line:
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    changed = False
    for key in ROUTE_FIELDS:
        value = record.get(key)
        if isinstance(value, str):
            model_name = rename(value)
            if model_name is not None and model_name != value:
                record[key] = model_name
                changed = True
    return json.dumps(record, separators=(",", ":")) if changed else line
