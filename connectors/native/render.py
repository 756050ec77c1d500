"""The whole gateway as Envoy files: a bootstrap, CDS, LDS, one RDS file per listener and one ECDS
file per route with a rate limit (its limiter: render_limits), all JSON.

Files hold DiscoveryResponses. Each is rendered as ``{"version_info": V, "resources": BODY}``; the
body is compared with what is on disk so an apply writes only the files that really change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..model import Backend, Gateway, Route
from ..model.hosts import covers
from .admin_socket import admin_bootstrap
from .names import (
    BOOTSTRAP_FILE,
    CDS_FILE,
    LDS_FILE,
    PROBE_HEADER,
    PROBE_HOST,
    ROUTE_CONFIG_TYPE,
    cluster_name,
    limit_file,
    rds_file,
)
from .render_limits import has_limiter, limiter_body
from .render_listener import jwks_clusters, listener
from .render_routes import cluster_backends, cluster_json, route_entries_json

# Stats kept (everything else is dropped at creation): per-cluster request counts and latency,
# backend health (overflows, outlier ejections, open circuit breakers), HTTP connection manager,
# rate-limit, xDS subscription and server stats. Keeps memory small with 10,000 routes.
_HEALTH_STATS = (
    r"upstream_cx_overflow|outlier_detection\.ejections_(active|total|enforced_total|"
    r"enforced_consecutive_5xx|detected_consecutive_5xx)|circuit_breakers\.default\.[a-z_]+_open"
)
STATS_PATTERNS = [
    {
        "safe_regex": {
            "regex": rf"^cluster\.[^.]+\.(upstream_rq.*|upstream_cx_(active|total)|{_HEALTH_STATS})$"
        }
    },
    {"prefix": "http."},
    {"prefix": "listener_manager."},
    {"prefix": "cluster_manager."},
    {"prefix": "server."},
    {"contains": "local_rate_limit"},
    {"prefix": "gw_rate_limit"},
    # Each limiter's ECDS subscription (its version_text tells when Envoy took an edit).
    {"prefix": "extension_config_discovery."},
    # Access-log bytes Envoy has not written yet: the log is behind its counters (native/shadow.py).
    {"prefix": "filesystem."},
]


@dataclass(frozen=True)
class Layout:
    """Where a gateway's Envoy files live."""

    xds_dir: Path

    @property
    def cds(self) -> Path:
        return self.xds_dir / CDS_FILE

    @property
    def lds(self) -> Path:
        return self.xds_dir / LDS_FILE

    @property
    def bootstrap(self) -> Path:
        return self.xds_dir / BOOTSTRAP_FILE

    def rds(self, listener_name: str) -> Path:
        return self.xds_dir / rds_file(listener_name)

    def limit(self, route_name: str) -> Path:
        return self.xds_dir / limit_file(route_name)


def bootstrap(gw: Gateway, layout: Layout, admin_socket: Path, stats_port: int) -> dict[str, Any]:
    """Envoy's bootstrap: file-based xDS, the admin on a Unix socket (``admin_socket``), the
    loopback stats listener for Prometheus on ``stats_port``."""

    def source(path: Path) -> dict[str, Any]:
        return {"resource_api_version": "V3", "path_config_source": {"path": str(path)}}

    return {
        # File-based xDS needs node.id and node.cluster, or Envoy exits.
        "node": {"id": f"gatewayctl-{gw.name}", "cluster": "gatewayctl"},
        **admin_bootstrap(admin_socket, stats_port),
        "dynamic_resources": {"cds_config": source(layout.cds), "lds_config": source(layout.lds)},
        "stats_config": {"stats_matcher": {"inclusion_list": {"patterns": STATS_PATTERNS}}},
        # Histograms (latency percentiles) refresh at each flush: every 1 s rather than Envoy's 5 s,
        # so the console's p99 follows a canary step within a poll or two.
        "stats_flush_interval": "1s",
    }


def listener_routes(gw: Gateway, listener_name: str) -> list[Route]:
    return [r for r in gw.routes if r.listener is None or r.listener == listener_name]


def virtual_hosts(routes: Sequence[Route]) -> list[tuple[str, list[Route]]]:
    """(domain, routes) pairs. Envoy picks one virtual host per request (most specific domain) and
    never falls back to another, so each virtual host also holds the wildcard routes that apply to
    its domain, keeping the YAML order: the first route that matches wins, as the file reads."""
    return [(domain, [routes[i] for i in idx]) for domain, _, idx in _vhost_layout(_hosts_key(routes))]


def _hosts_key(routes: Sequence[Route]) -> tuple[tuple[str, ...], ...]:
    return tuple(r.hosts for r in routes)


@lru_cache(maxsize=16)
def _vhost_layout(hosts: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    """Per virtual host: its domain, the JSON text that opens it, and its routes' positions. Depends
    only on the routes' hosts, so it is computed once for any number of weight or policy edits."""
    exact: dict[str, list[int]] = {}
    wild: list[tuple[str, int]] = []
    for i, route_hosts in enumerate(hosts):
        for h in dict.fromkeys(route_hosts):
            if "*" in h:
                wild.append((h, i))
            else:
                exact.setdefault(h, []).append(i)
    domains = list(exact) + list(dict.fromkeys(h for h, _ in wild))
    out = []
    for domain in domains:
        idx = set(exact.get(domain, ()))
        idx.update(i for h, i in wild if h == domain or covers(h, domain))
        head = json.dumps({"name": domain, "domains": [domain]}, separators=(",", ":"))[:-1] + ',"routes":['
        out.append((domain, head, tuple(sorted(idx))))
    return tuple(out)


class _ByIdentity:
    """Memoises a function of model objects by identity. A gateway keeps the same Route objects
    across edits, so after one edit re-rendering 10,000 routes is one dictionary lookup per route
    (hashing a Route each time would cost more than that)."""

    def __init__(self, fn: Callable[..., Any], limit: int = 200_000) -> None:
        self._fn = fn
        self._limit = limit
        self._memo: dict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = {}

    def __call__(self, *args: Any) -> Any:
        key = tuple(map(id, args))
        hit = self._memo.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], args, strict=True)):
            return hit[1]
        value = self._fn(*args)
        if len(self._memo) >= self._limit:
            self._memo.clear()
        self._memo[key] = (args, value)  # keeps args alive, so their ids are not reused meanwhile
        return value


def _route_clusters(route: Route, backends: tuple[Backend, ...]) -> tuple[tuple[str, str], ...]:
    by_name = {b.name: b for b in backends}
    return tuple(
        (cluster_name(route.name, n), cluster_json(route, by_name[n]))
        for n in cluster_backends(route)
        if n in by_name
    )


entries_json = _ByIdentity(route_entries_json)
clusters_json = _ByIdentity(_route_clusters)


class _RouteConfigs:
    """The virtual hosts last rendered per (gateway, listener). When only some routes changed
    (same hosts, same order), only the virtual hosts holding them are rendered again: with
    10,000 routes a weight edit costs a join, not 10,000 lookups."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[list[Route], Any, list[str], list[list[int]]]] = {}

    def body(self, gw: Gateway, listener_name: str) -> str:
        routes = listener_routes(gw, listener_name)
        layout = _vhost_layout(_hosts_key(routes))
        key = (gw.name, listener_name)
        last = self._last.get(key)
        vhosts: list[str]
        if last is not None and last[1] is layout and len(last[0]) == len(routes):
            previous, _, old_vhosts, where = last
            changed = [i for i, (a, b) in enumerate(zip(previous, routes, strict=True)) if a is not b]
            vhosts = list(old_vhosts)
            for v in {v for i in changed for v in where[i]}:
                _, head, idx = layout[v]
                vhosts[v] = head + ",".join([entries_json(routes[i]) for i in idx]) + "]}"
        else:
            frags = [entries_json(r) for r in routes]
            vhosts = [head + ",".join([frags[i] for i in idx]) + "]}" for _, head, idx in layout]
            where = [[] for _ in routes]
            for v, (_, _, idx) in enumerate(layout):
                for i in idx:
                    where[i].append(v)
        self._last[key] = (routes, layout, vhosts, where)
        head = json.dumps(
            {"@type": ROUTE_CONFIG_TYPE, "name": listener_name, "validate_clusters": True},
            separators=(",", ":"),
        )[:-1]
        return "[" + head + ',"virtual_hosts":[' + ",".join(vhosts) + "]}]"


_ROUTE_CONFIGS = _RouteConfigs()


def route_config_body(gw: Gateway, listener_name: str) -> str:
    return _ROUTE_CONFIGS.body(gw, listener_name)


def clusters_body(gw: Gateway, extra: Sequence[Gateway] = ()) -> str:
    """Every route's clusters; ``extra`` gateways' clusters are kept too (used to add clusters
    before the routes that need them and remove them only after)."""
    seen: set[str] = set()
    parts: list[str] = []
    for g in (gw, *extra):
        for r in g.routes:
            for name, text in clusters_json(r, g.backends):
                if name not in seen:
                    seen.add(name)
                    parts.append(text)
        for c in jwks_clusters(g):
            if c["name"] not in seen:
                seen.add(c["name"])
                parts.append(json.dumps(c, separators=(",", ":")))
    return "[" + ",".join(parts) + "]"


# A virtual host answering with the version of the routes it belongs to: after a push, one cheap
# request tells whether Envoy serves the new routes (the admin endpoint's stats and config dumps
# cost O(config): ~0.1-1 s each with 10,000 routes). Reachable only with the gateway's token.
_PROBE_MARK = '{"name":"gatewayctl-probe","domains":'


def with_probe(body: str, version: str, token: str) -> str:
    """A route config body (from ``route_config_body``) plus the probe virtual host."""
    probe = {
        "name": "gatewayctl-probe",
        "domains": [PROBE_HOST],
        "routes": [
            {
                "name": "gatewayctl-probe",
                "match": {
                    "prefix": "/",
                    "headers": [{"name": PROBE_HEADER, "string_match": {"exact": token}}],
                },
                "direct_response": {"status": 200, "body": {"inline_string": version}},
            }
        ],
    }
    head = body[:-3]  # body ends with the closing ]}] of virtual_hosts, the config and the list
    return head + ("" if head.endswith("[") else ",") + json.dumps(probe, separators=(",", ":")) + "]}]"


def without_probe(body: str) -> str:
    at = body.rfind(_PROBE_MARK)
    if at < 0:
        return body
    head = body[:at]
    return (head[:-1] if head.endswith(",") else head) + "]}]"


def listeners_body(gw: Gateway, layout: Layout, access_log: Path | None, headers: Sequence[str]) -> str:
    resources = [
        listener(lst, listener_routes(gw, lst.name), layout.rds(lst.name), access_log, headers)
        for lst in gw.listeners
    ]
    return json.dumps(resources, separators=(",", ":"))


def file_text(version: str, body: str) -> str:
    return '{"version_info":' + json.dumps(version) + ',"resources":' + body + "}\n"


def body_of(text: str) -> str | None:
    """The resources part of a file written by ``file_text`` (None if it is not one)."""
    marker = ',"resources":'
    at = text.find(marker)
    if at < 0 or not text.endswith("}\n"):
        return None
    return text[at + len(marker) : -2]


def version_of(text: str) -> str | None:
    try:
        head = text[: text.index(',"resources":')] + "}"
        value = json.loads(head).get("version_info")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Rendered:
    """The bodies of every xDS file for one gateway model (path -> resources JSON)."""

    cds: str
    lds: str
    rds: dict[Path, str]
    limits: dict[Path, str]


def limit_bodies(gw: Gateway, layout: Layout) -> dict[Path, str]:
    """Each limited route's limiter file (ECDS), by path."""
    return {layout.limit(r.name): limiter_body(r) for r in gw.routes if has_limiter(r)}


def render(gw: Gateway, layout: Layout, access_log: Path | None, headers: Sequence[str]) -> Rendered:
    return Rendered(
        cds=clusters_body(gw),
        lds=listeners_body(gw, layout, access_log, headers),
        rds={layout.rds(lst.name): route_config_body(gw, lst.name) for lst in gw.listeners},
        limits=limit_bodies(gw, layout),
    )
