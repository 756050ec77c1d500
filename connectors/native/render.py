"""The whole gateway as Envoy files: a bootstrap, CDS, LDS and one RDS file per listener (JSON).

Files hold DiscoveryResponses. Each is rendered as ``{"version_info": V, "resources": BODY}``; the
body is compared with what is on disk so an apply writes only the files that really change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import Backend, Gateway, Route
from .names import (
    BOOTSTRAP_FILE,
    CDS_FILE,
    LDS_FILE,
    ROUTE_CONFIG_TYPE,
    rds_file,
)
from .render_listener import jwks_clusters, listener
from .render_routes import cluster_backends, cluster_json, route_entries_json

# Stats kept (everything else is dropped at creation): per-cluster request counts and latency,
# HTTP connection manager, rate-limit, xDS subscription and server stats. Keeps memory small
# with 10,000 routes.
STATS_PATTERNS = [
    {"safe_regex": {"regex": r"^cluster\.[^.]+\.(upstream_rq.*|upstream_cx_active|upstream_cx_total)$"}},
    {"prefix": "http."},
    {"prefix": "listener_manager."},
    {"prefix": "cluster_manager."},
    {"prefix": "server."},
    {"contains": "local_rate_limit"},
    {"prefix": "gw_rate_limit"},
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


def bootstrap(gw: Gateway, layout: Layout, admin_port: int) -> dict[str, Any]:
    def source(path: Path) -> dict[str, Any]:
        return {"resource_api_version": "V3", "path_config_source": {"path": str(path)}}

    return {
        # File-based xDS needs node.id and node.cluster, or Envoy exits.
        "node": {"id": f"gatewayctl-{gw.name}", "cluster": "gatewayctl"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "dynamic_resources": {"cds_config": source(layout.cds), "lds_config": source(layout.lds)},
        "stats_config": {"stats_matcher": {"inclusion_list": {"patterns": STATS_PATTERNS}}},
    }


def listener_routes(gw: Gateway, listener_name: str) -> list[Route]:
    return [r for r in gw.routes if r.listener is None or r.listener == listener_name]


def _covers(pattern: str, host: str) -> bool:
    """Whether a route host ``pattern`` (``*``, ``*.example``, ``shop.*``) applies to ``host``."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:]) and host != pattern[1:]
    if pattern.endswith("*"):
        return host.startswith(pattern[:-1]) and host != pattern[:-1]
    return False


def virtual_hosts(routes: Sequence[Route]) -> list[tuple[str, list[Route]]]:
    """(domain, routes) pairs. Envoy picks one virtual host per request (most specific domain) and
    never falls back to another, so each virtual host also holds the wildcard routes that apply to
    its domain, keeping the YAML order: the first route that matches wins, as the file reads."""
    exact: dict[str, list[int]] = {}
    wild: list[tuple[str, int]] = []
    for i, r in enumerate(routes):
        for h in dict.fromkeys(r.hosts):
            if "*" in h:
                wild.append((h, i))
            else:
                exact.setdefault(h, []).append(i)
    domains = list(exact) + list(dict.fromkeys(h for h, _ in wild))
    out = []
    for domain in domains:
        idx = set(exact.get(domain, ()))
        idx.update(i for h, i in wild if h == domain or _covers(h, domain))
        out.append((domain, [routes[i] for i in sorted(idx)]))
    return out


def route_config_body(gw: Gateway, listener_name: str) -> str:
    vhosts = []
    for domain, routes in virtual_hosts(listener_routes(gw, listener_name)):
        head = json.dumps({"name": domain, "domains": [domain]}, separators=(",", ":"))[:-1]
        vhosts.append(head + ',"routes":[' + ",".join(route_entries_json(r) for r in routes) + "]}")
    head = json.dumps(
        {"@type": ROUTE_CONFIG_TYPE, "name": listener_name, "validate_clusters": True}, separators=(",", ":")
    )[:-1]
    return "[" + head + ',"virtual_hosts":[' + ",".join(vhosts) + "]}]"


def clusters_body(gw: Gateway, extra: Sequence[Gateway] = ()) -> str:
    """Every route's clusters; ``extra`` gateways' clusters are kept too (used to add clusters
    before the routes that need them and remove them only after)."""
    seen: set[str] = set()
    parts: list[str] = []
    for g in (gw, *extra):
        backends: dict[str, Backend] = {b.name: b for b in g.backends}
        for r in g.routes:
            for name in cluster_backends(r):
                key = f"{r.name}~{name}"
                if key in seen or name not in backends:
                    continue
                seen.add(key)
                parts.append(cluster_json(r, backends[name]))
        for c in jwks_clusters(g):
            if c["name"] not in seen:
                seen.add(c["name"])
                parts.append(json.dumps(c, separators=(",", ":")))
    return "[" + ",".join(parts) + "]"


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


def render(gw: Gateway, layout: Layout, access_log: Path | None, headers: Sequence[str]) -> Rendered:
    return Rendered(
        cds=clusters_body(gw),
        lds=listeners_body(gw, layout, access_log, headers),
        rds={layout.rds(lst.name): route_config_body(gw, lst.name) for lst in gw.listeners},
    )
