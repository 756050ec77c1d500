"""The policies a gateway proxy holds for one route besides its traffic split: the local rate limit,
CORS and fault injection, read off its ``/config_dump`` and compared with the route's model.

Istio and Envoy Gateway both put them on the route entry, under ``typed_per_filter_config`` keyed by
the filter's name (``envoy.filters.http.local_ratelimit``, ``envoy.filters.http.cors``,
``envoy.filters.http.fault``); a rate limit may instead be the listener's filter-wide token bucket
(an Istio EnvoyFilter that names no route). Each is compared as one line an operator reads
(``10/1m``, ``origins exact:https://a; methods GET,POST``, ``abort 503 on 5%``), spelled the same way
on both sides, so a value written in another spelling that means the same holds. CORS origin regexes
are compared by kind only (a controller turns a wildcard into a regex of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..model import Cors, Fault, Route, envoy_json, format_duration
from ..model.fault import grpc_code
from .resources import JsonDict

NONE = "none"


@dataclass(frozen=True)
class Aspect:
    """One policy of a route: how to read it off a proxy's entry, and what it should be."""

    name: str
    read: Callable[[JsonDict, JsonDict], str]  # (route entry, whole dump) -> what the proxy holds
    want: str
    before: str | None  # before the change (None: unknown, e.g. a drift check)

    def held(self, entries: list[JsonDict], dump: JsonDict) -> str:
        """What the proxy holds: the first entry that differs from ``want``, else ``want``."""
        values = [self.read(e, dump) for e in entries]
        return next((v for v in values if v != self.want), self.want)


def _per_route(entry: JsonDict, name: str) -> object:
    return (entry.get("typed_per_filter_config") or {}).get(name)


def _http_filters(dump: JsonDict) -> Iterator[JsonDict]:
    for config in dump.get("configs") or []:
        if not str(config.get("@type", "")).endswith("ListenersConfigDump"):
            continue
        listeners = [
            item.get("active_state", {}).get("listener") for item in config.get("dynamic_listeners") or []
        ]
        listeners += [item.get("listener") for item in config.get("static_listeners") or []]
        for listener in (x for x in listeners if isinstance(x, dict)):
            for chain in listener.get("filter_chains") or []:
                for f in chain.get("filters") or []:
                    yield from (f.get("typed_config") or {}).get("http_filters") or []


def limit_text(entry: JsonDict, dump: JsonDict) -> str:
    limit = envoy_json.local_limit(_per_route(entry, envoy_json.LOCAL_RATELIMIT_FILTER))
    if limit is None:  # a filter-wide bucket applies to every route of the proxy
        filters = [f for f in _http_filters(dump) if f.get("name") == envoy_json.LOCAL_RATELIMIT_FILTER]
        limit = next((x for x in (envoy_json.local_limit(f.get("typed_config")) for f in filters) if x), None)
    return limit.describe() if limit is not None else NONE


def _origin(o: object) -> str:
    kind, value = getattr(o, "kind", ""), getattr(o, "value", "")
    if kind == "wildcard":
        return "*" if value == "*" else "regex"
    return "regex" if kind == "regex" else f"{kind}:{value}"


def cors_line(c: Cors | None) -> str:
    if c is None:
        return NONE
    parts = [
        "origins " + (", ".join(sorted(_origin(o) for o in c.allow_origins)) or "-"),
        "methods " + (",".join(sorted({m.upper() for m in c.allow_methods})) or "-"),
    ]
    if c.allow_headers:
        parts.append("headers " + ",".join(sorted({h.lower() for h in c.allow_headers})))
    if c.max_age is not None:
        parts.append(f"max-age {format_duration(c.max_age)}")
    return "; ".join(parts + (["credentials"] if c.allow_credentials else []))


def cors_text(entry: JsonDict, dump: JsonDict) -> str:
    policy = _per_route(entry, envoy_json.CORS_FILTER) or (entry.get("route") or {}).get("cors")
    return cors_line(envoy_json.cors(policy))


def fault_line(f: Fault | None) -> str:
    if f is None:
        return NONE
    if f.abort_grpc is not None:  # proxies hold the number
        f = Fault(f.delay, f.delay_percent, None, str(grpc_code(f.abort_grpc)), f.abort_percent)
    return f.describe()


def fault_text(entry: JsonDict, dump: JsonDict) -> str:
    return fault_line(envoy_json.fault(_per_route(entry, envoy_json.FAULT_FILTER)))


def policy_aspects(after: Route, before: Route | None, kinds: set[str] | None = None) -> tuple[Aspect, ...]:
    """The aspects of ``after`` to compare (``kinds``: of rate_limit, cors, fault; None: all).
    A route with per-client limit rules is not compared on its rate limit (a controller may give
    such a route a bucket of its own that the model does not show)."""
    wanted = {"rate_limit", "cors", "fault"} if kinds is None else kinds
    out = []
    if "rate_limit" in wanted and not after.limit_rules:
        text = after.rate_limit.describe() if after.rate_limit else NONE
        old = (before.rate_limit.describe() if before.rate_limit else NONE) if before else None
        out.append(Aspect("rate limit", limit_text, text, old))
    if "cors" in wanted:
        out.append(
            Aspect("CORS", cors_text, cors_line(after.cors), cors_line(before.cors) if before else None)
        )
    if "fault" in wanted:
        old_fault = fault_line(before.fault) if before else None
        out.append(Aspect("fault", fault_text, fault_line(after.fault), old_fault))
    return tuple(out)


def changed_kinds(before: Route, after: Route) -> set[str]:
    """The policies a change made to a route that proxies can be asked about."""
    return {k for k in ("rate_limit", "cors", "fault") if getattr(before, k) != getattr(after, k)}
