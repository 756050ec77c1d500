"""Which proxies an Istio policy object is attached to, and whether that covers a route's traffic.

Istio attaches EnvoyFilters, RequestAuthentications, AuthorizationPolicies and DestinationRules to
workloads: an object in the root namespace (``istio-system``) reaches workloads in every namespace,
one in any other namespace only that namespace's; ``workloadSelector`` / ``selector`` narrows that to
workloads with those labels, ``targetRefs`` to the pods behind a Service or Gateway. A route's
traffic passes three kinds of proxy: its bound Gateways' pods, the clients' sidecars (outbound, any
workload of the mesh), and its destinations' sidecars (inbound; a destination's workload is known
by the ``app`` label Istio's samples and conventions give it the service's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..resources import JsonDict
from .common import GatewayRef, RouteContext

Reach = Literal["route", "clients"]


@dataclass(frozen=True)
class Workloads:
    """The proxies one policy object is attached to."""

    namespace: str | None  # None: every namespace (an object in the root namespace)
    labels: tuple[tuple[str, str], ...] = ()  # (): every workload in that scope
    services: tuple[str, ...] = ()  # targetRefs to Services (short names)
    targets: tuple[str, ...] = ()  # other targetRefs (Kind/name), e.g. a Gateway API Gateway

    @property
    def everywhere(self) -> bool:
        return not (self.labels or self.services or self.targets)

    def describe(self) -> str:
        where = "every namespace" if self.namespace is None else f"namespace {self.namespace}"
        if self.services or self.targets:
            what = ", ".join([f"Service/{s}" for s in self.services] + list(self.targets))
            return f"the workloads of {what} in {where}"
        if self.labels:
            labels = ",".join(f"{k}={v}" for k, v in self.labels)
            return f"workloads labelled {labels} in {where}"
        return f"every proxy in {where}"


def _labels(value: object) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in value.items())) if isinstance(value, dict) else ()


def workloads_of(obj: JsonDict, root: str) -> Workloads:
    """Where ``obj`` (any of the four kinds) is attached."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    namespace = meta.get("namespace") or ""
    selector = spec.get("workloadSelector") or spec.get("selector") or {}
    labels = _labels(selector.get("labels") if "labels" in selector else selector.get("matchLabels"))
    refs = [r for r in spec.get("targetRefs") or [] if isinstance(r, dict)]
    if isinstance(spec.get("targetRef"), dict):
        refs.append(spec["targetRef"])
    services = tuple(str(r.get("name")) for r in refs if r.get("kind") == "Service")
    targets = tuple(f"{r.get('kind')}/{r.get('name')}" for r in refs if r.get("kind") != "Service")
    return Workloads(None if namespace == root else namespace, labels, services, targets)


def reaches_gateway(w: Workloads, gw: GatewayRef) -> bool:
    """Whether ``w`` holds the pods of an Istio Gateway (they carry at least its selector's labels and
    run in its namespace or the root namespace)."""
    if w.services or w.targets or (w.namespace is not None and w.namespace != gw.namespace):
        return False
    if not w.labels:
        return True
    return gw.selector is not None and dict(w.labels).items() <= dict(gw.selector).items()


def reaches_destinations(w: Workloads, ctx: RouteContext) -> bool:
    """Whether ``w`` holds the sidecars of every destination of the route (its inbound side)."""
    if w.targets or (w.namespace is not None and w.namespace != ctx.namespace):
        return False
    if w.services:
        return bool(ctx.destinations) and all(d in w.services for d in ctx.destinations)
    if not w.labels:
        return True
    app = dict(w.labels).get("app")
    return app is not None and bool(ctx.destinations) and all(d == app for d in ctx.destinations)


def client_reach(w: Workloads, ctx: RouteContext) -> Reach:
    """How much of a mesh route's traffic the clients' sidecars in ``w`` send: all of it only for every
    sidecar of the mesh, or of the route's own namespace (where this tool puts a mesh route's limit)."""
    if w.everywhere and w.namespace in (None, ctx.namespace):
        return "route"
    return "clients"


def selects(w: Workloads, ctx: RouteContext) -> bool:
    """Whether a server-side policy (JWT, authorization) attached to ``w`` checks the route's requests:
    at a bound Gateway's pods, or at the destinations' sidecars for mesh traffic."""
    if any(reaches_gateway(w, gw) for gw in ctx.gateways):
        return True
    return (ctx.mesh or not ctx.gateways) and reaches_destinations(w, ctx)


_THROUGH = {
    "GATEWAY": "every route through",
    "SIDECAR_INBOUND": "every request into",
    "SIDECAR_OUTBOUND": "every request sent by",
}


def patch_reach(ef: JsonDict, patch: JsonDict, root: str) -> str | None:
    """What an EnvoyFilter patch reaches besides named routes: None when it names its Envoy route
    or virtual host (then the routes it limits are all it reaches), else the proxies it covers."""
    match = patch.get("match") or {}
    vhost = (match.get("routeConfiguration") or {}).get("vhost") or {}
    if patch.get("applyTo") == "HTTP_ROUTE" and (vhost.get("name") or (vhost.get("route") or {}).get("name")):
        return None
    through = _THROUGH.get(str(match.get("context", "ANY")), "every route of")
    return f"{through} {workloads_of(ef, root).describe()}"
