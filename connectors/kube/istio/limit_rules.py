"""Rate-limit rules an Istio route has besides its local token bucket, shown read-only: descriptor
buckets of a local limit (e.g. 10/min for requests whose path starts /productpage) and global limits
(``envoy.filters.http.ratelimit``, whose numbers live in the rate-limit service's configuration).
"""

from __future__ import annotations

from typing import Any

from ...model import LimitRule
from ..resources import JsonDict, Resource
from ..store import Store
from .common import RouteContext, camel, typed_config_value
from .ratelimit import LimitPatch, duration, patch_applies

GLOBAL_RATELIMIT = "envoy.filters.http.ratelimit"
DESCRIPTOR_WHY = "a bucket for the requests its descriptor matches; rate-limit edits keep it as it is"


def _label(ef: JsonDict) -> str:
    meta = ef.get("metadata") or {}
    return f"EnvoyFilter {meta.get('namespace')}/{meta.get('name')}"


def _entries(entries: Any) -> str:
    return ", ".join(
        f"{camel(e, 'key')}={camel(e, 'value')}" if camel(e, "value") else str(camel(e, "key"))
        for e in entries or []
        if isinstance(e, dict)
    )


def descriptor_rules(chosen: LimitPatch | None) -> tuple[LimitRule, ...]:
    """The per-descriptor buckets of the LocalRateLimit the route's limit comes from."""
    if chosen is None:
        return ()
    value = (chosen.patch.get("patch") or {}).get("value") or {}
    per_filter = camel(value, "typed_per_filter_config") or {}
    config = per_filter.get("envoy.filters.http.local_ratelimit") if isinstance(per_filter, dict) else None
    if chosen.source.level == "filter":
        config = camel(value, "typed_config")
    inner = typed_config_value(config) or {}
    out = []
    for i, d in enumerate(inner.get("descriptors") or []):
        bucket = camel(d, "token_bucket") if isinstance(d, dict) else None
        if not isinstance(bucket, dict):
            continue
        out.append(
            LimitRule(
                kind="local",
                requests=int(camel(bucket, "tokens_per_fill") or 1),
                interval=duration(camel(bucket, "fill_interval")) or 1.0,
                clients=f"requests whose descriptor is {_entries(d.get('entries'))}",
                source=f"{_label(chosen.envoy_filter)} configPatches[{chosen.source.patch}] descriptors[{i}]",
                why_readonly=DESCRIPTOR_WHY,
            )
        )
    return tuple(out)


def _action(action: JsonDict) -> str:
    """One rate_limits action as the descriptor entry it makes."""
    for key, value in action.items():
        if not isinstance(value, dict):
            return str(key)
        name = (
            camel(value, "descriptor_key") or camel(value, "header_name") or camel(value, "descriptor_value")
        )
        return f"{key} {name}" if name else str(key)
    return "?"


def _descriptors(patch: JsonDict) -> list[str]:
    value = (patch.get("patch") or {}).get("value") or {}
    holders = [value, value.get("route") or {}]
    out = []
    for holder in holders:
        for limit in camel(holder, "rate_limits") or []:
            if isinstance(limit, dict):
                out.append(" + ".join(_action(a) for a in limit.get("actions") or [] if isinstance(a, dict)))
    return out


def global_rules(store: Store, kind: Resource | None, ctx: RouteContext, root: str) -> tuple[LimitRule, ...]:
    """A rule per global rate-limit filter on the route's proxies, with the descriptors the route's
    (or its virtual host's) ``rate_limits`` send to the service; none without descriptors, as then
    the filter never asks the service about the route's requests."""
    filters: list[tuple[JsonDict, JsonDict]] = []
    descriptors: list[str] = []
    for ef in store.of(kind):
        for patch in (ef.get("spec") or {}).get("configPatches") or []:
            if not isinstance(patch, dict) or patch_applies(ef, patch, ctx, root) is None:
                continue
            value = (patch.get("patch") or {}).get("value") or {}
            if patch.get("applyTo") == "HTTP_FILTER" and value.get("name") == GLOBAL_RATELIMIT:
                filters.append((ef, typed_config_value(camel(value, "typed_config")) or {}))
            elif patch.get("applyTo") in ("VIRTUAL_HOST", "HTTP_ROUTE"):
                descriptors += _descriptors(patch)
    if not descriptors:  # Envoy calls the rate-limit service only for routes that send descriptors
        return ()
    out = []
    for ef, config in filters:
        domain = camel(config, "domain") or "?"
        out.append(
            LimitRule(
                kind="global",
                clients="descriptors " + "; ".join(descriptors),
                source=_label(ef),
                why_readonly=f"the limits live in the rate-limit service's configuration (domain {domain}), "
                "which is not a Kubernetes object this tool reads",
            )
        )
    return tuple(out)
