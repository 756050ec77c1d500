"""Local rate limits in EnvoyFilters: which config patch limits which VirtualService route.

A per-route ``HTTP_ROUTE`` patch (``typed_per_filter_config``) wins over a filter-wide token bucket;
among several, the one Istio applies last (priority, then root namespace first, then age) wins.
Which proxies a patch reaches follows its ``match.context``: GATEWAY patches reach the routes of
Gateways whose selector the filter's workloadSelector picks; SIDECAR_OUTBOUND patches reach mesh
routes (their selector picks clients, which a route does not name); SIDECAR_INBOUND patches reach
routes whose destinations are all the selected workload (its ``app`` label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...model import RateLimit
from ...model.durations import parse_duration
from ...model.envoy_json import local_limit
from ..resources import JsonDict, ObjKey, Resource
from ..store import Store
from .common import LOCAL_RATELIMIT, RouteContext, camel, host_matches
from .scope import Reach, client_reach, reaches_destinations, reaches_gateway, workloads_of


def duration(value: Any) -> float | None:
    try:
        return parse_duration(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class LimitSource:
    """The EnvoyFilter config patch a route's rate limit comes from."""

    filter: ObjKey
    patch: int
    level: Literal["route", "filter"]


def limit_from_config(config: Any) -> RateLimit | None:
    """A LocalRateLimit config (TypedStruct or direct) → RateLimit; None without a token bucket."""
    return local_limit(config)


def route_patch_config(patch: JsonDict) -> Any:
    value = (patch.get("patch") or {}).get("value") or {}
    per_filter = camel(value, "typed_per_filter_config") or {}
    return per_filter.get(LOCAL_RATELIMIT) if isinstance(per_filter, dict) else None


def filter_patch_config(patch: JsonDict) -> Any:
    value = (patch.get("patch") or {}).get("value") or {}
    if value.get("name") != LOCAL_RATELIMIT:
        return None
    return camel(value, "typed_config")


def _order_key(ef: JsonDict, root: str) -> tuple[int, int, str, str]:
    meta = ef.get("metadata") or {}
    return (
        int((ef.get("spec") or {}).get("priority") or 0),
        0 if meta.get("namespace") == root else 1,
        str(meta.get("creationTimestamp") or ""),
        str(meta.get("name") or ""),
    )


def patch_applies(ef: JsonDict, patch: JsonDict, ctx: RouteContext, root: str) -> Reach | None:
    """Whether an EnvoyFilter config patch reaches the Envoy route serving ``ctx``: for all of its
    traffic ("route"), only for the requests of some clients ("clients"), or not at all (None)."""
    w = workloads_of(ef, root)
    match = patch.get("match") or {}
    context = match.get("context", "ANY")
    vhost = (match.get("routeConfiguration") or {}).get("vhost") or {}
    route_name = (vhost.get("route") or {}).get("name")
    vhost_name = str(vhost.get("name") or "")
    if route_name and route_name != ctx.http_name:
        return None

    def outbound_vhost_ok(ports: tuple[int, ...]) -> bool:
        if not vhost_name:
            return True
        host, _, port = vhost_name.rpartition(":")
        host = host or vhost_name
        if not any(host_matches(host, h, ctx.namespace) for h in ctx.hosts):
            return False
        return not (ports and port.isdigit() and int(port) not in ports)

    if context in ("ANY", "GATEWAY") and any(
        reaches_gateway(w, gw) and outbound_vhost_ok(gw.ports) for gw in ctx.gateways
    ):
        return "route"
    if context in ("ANY", "SIDECAR_INBOUND") and reaches_destinations(w, ctx):
        return "route"
    if context in ("ANY", "SIDECAR_OUTBOUND") and ctx.mesh and outbound_vhost_ok(()):
        return client_reach(w, ctx)
    return None


@dataclass(frozen=True)
class LimitPatch:
    """One EnvoyFilter config patch that carries a token bucket, in the order Istio applies them."""

    envoy_filter: JsonDict
    patch: JsonDict
    limit: RateLimit
    source: LimitSource


def limit_patches(store: Store, kind: Resource | None, root: str) -> list[LimitPatch]:
    if kind is None:
        return []
    out = []
    for ef in sorted(store.of(kind), key=lambda ef: _order_key(ef, root)):
        key = ObjKey.for_object(kind, ef)
        for i, patch in enumerate((ef.get("spec") or {}).get("configPatches") or []):
            if not isinstance(patch, dict):
                continue
            level: Literal["route", "filter"]
            if patch.get("applyTo") == "HTTP_ROUTE":
                config, level = route_patch_config(patch), "route"
            elif patch.get("applyTo") == "HTTP_FILTER":
                config, level = filter_patch_config(patch), "filter"
            else:
                continue
            limit = limit_from_config(config)
            if limit is not None:
                out.append(LimitPatch(ef, patch, limit, LimitSource(key, i, level)))
    return out


def limit_for(
    patches: list[LimitPatch], ctx: RouteContext, root: str
) -> tuple[RateLimit | None, LimitSource | None, list[LimitPatch]]:
    """The route's rate limit, the EnvoyFilter patch it comes from (route level beats filter level;
    among patches of one level the one applied last wins), and the patches that limit only some
    clients' requests to it (their sidecars' outbound routes)."""
    best: dict[str, LimitPatch] = {}
    partial: list[LimitPatch] = []
    for p in patches:
        reach = patch_applies(p.envoy_filter, p.patch, ctx, root)
        if reach == "route":
            best[p.source.level] = p
        elif reach == "clients":
            partial.append(p)
    chosen = best.get("route") or best.get("filter")
    return (chosen.limit, chosen.source, partial) if chosen else (None, None, partial)
