"""The listener side (LDS): one listener per model listener, each an HTTP connection manager that
takes its routes from RDS, with the filters cors → rbac → jwt_authn → one rate limiter per limited
route → router.

Request paths are normalised before any filter or route sees them (``PATH_HANDLING``: Envoy's edge
guidance for untrusted clients), so ``/static/../limited/x`` or ``//limited/x`` meets the
``/limited`` route's rate limit, deny rules and JWT, not the ``/`` route's: dot segments removed,
slashes merged, unreserved ``%XX`` decoded, and a path with an escaped slash (``%2F``, ``%5C``)
answered with a 307 to its unescaped form. ``match`` predicts the same (connectors.model.paths).

Each rate limiter is only a slot here: its bucket comes from its own ECDS file (render_limits), so
neither a weight change (RDS) nor another route's limit edit (ECDS) refills it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..model import Gateway, JwtProvider, Listener, Route
from ..model.paths import NORMALISED
from .names import (
    CORS_FILTER,
    HCM_FILTER,
    JWT_FILTER,
    LISTENER_TYPE,
    PROBE_HEADER,
    ROUTER_FILTER,
    jwt_provider_name,
    limit_file,
)
from .render_deny import deny_filter, has_deny
from .render_fault import fault_filters
from .render_limits import has_limiter, limiter_slot
from .render_shadow import SHADOW_HEADER

# How the listener treats request paths (HCM normalize_path, merge_slashes,
# path_with_escaped_slashes_action); why these values: connectors/model/paths.py.
PATH_HANDLING = NORMALISED

# Headers that carry credentials: never written to the access log, whatever the operator asks.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})


def jwt_providers(route: Route) -> dict[str, Any]:
    """The route's JWT providers as the filter wants them, named ``route~provider``."""
    if route.jwt is None:
        return {}
    return {jwt_provider_name(route.name, p.name): _provider(p) for p in route.jwt.providers}


def jwt_requirement(route: Route) -> dict[str, Any] | None:
    if route.jwt is None:
        return None
    names = [jwt_provider_name(route.name, p.name) for p in route.jwt.providers]
    reqs: list[dict[str, Any]] = [{"provider_name": n} for n in names]
    if not route.jwt.required:
        reqs.append({"allow_missing": {}})
    if len(reqs) == 1:
        return reqs[0]
    return {"requires_any": {"requirements": reqs}}


def jwks_cluster_name(provider: JwtProvider) -> str:
    parts = urlsplit(provider.jwks_uri or "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"jwks|{parts.hostname}|{port}"


def jwks_clusters(gw: Gateway) -> list[dict[str, Any]]:
    """Clusters that fetch remote JWKS (one per host:port), so jwks_uri providers work."""
    out: dict[str, dict[str, Any]] = {}
    for route in gw.routes:
        for p in route.jwt.providers if route.jwt else ():
            if not p.jwks_uri:
                continue
            parts = urlsplit(p.jwks_uri)
            name = jwks_cluster_name(p)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            cluster: dict[str, Any] = {
                "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                "name": name,
                "type": "STRICT_DNS",
                "dns_lookup_family": "V4_PREFERRED",
                "connect_timeout": "5s",
                "load_assignment": {
                    "cluster_name": name,
                    "endpoints": [
                        {
                            "lb_endpoints": [
                                {
                                    "endpoint": {
                                        "address": {
                                            "socket_address": {"address": parts.hostname, "port_value": port}
                                        }
                                    }
                                }
                            ]
                        }
                    ],
                },
            }
            if parts.scheme == "https":
                cluster["transport_socket"] = {
                    "name": "envoy.transport_sockets.tls",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3"
                        ".UpstreamTlsContext",
                        "sni": parts.hostname,
                    },
                }
            out[name] = cluster
    return list(out.values())


def _provider(p: JwtProvider) -> dict[str, Any]:
    out: dict[str, Any] = {"issuer": p.issuer}
    if p.audiences:
        out["audiences"] = list(p.audiences)
    if p.jwks_inline:
        out["local_jwks"] = {"inline_string": p.jwks_inline}
    elif p.jwks_uri:
        out["remote_jwks"] = {
            "http_uri": {"uri": p.jwks_uri, "cluster": jwks_cluster_name(p), "timeout": "5s"},
            "cache_duration": "300s",
        }
    if p.from_headers:
        out["from_headers"] = [{"name": h} for h in p.from_headers]
    if p.forward:
        out["forward"] = True
    # Without a cache every request re-verifies the RS256 signature (FACTS: 5.9k vs 10.4k req/s).
    out["jwt_cache_config"] = {"jwt_cache_size": 1000}
    return out


def _jwt_filter(routes: Sequence[Route]) -> dict[str, Any] | None:
    providers: dict[str, Any] = {}
    requirements: dict[str, Any] = {}
    for route in routes:
        req = jwt_requirement(route)
        if req is None:
            continue
        providers.update(jwt_providers(route))
        requirements[route.name] = req
    if not requirements:
        return None
    return {
        "name": JWT_FILTER,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": providers,
            "requirement_map": requirements,
        },
    }


ACCESS_LOG_FIELDS: dict[str, str] = {
    "time": "%START_TIME%",
    "route": "%ROUTE_NAME%",
    "status": "%RESPONSE_CODE%",
    "flags": "%RESPONSE_FLAGS%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS%",
    "duration_ms": "%DURATION%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "method": "%REQ(:METHOD)%",
    "authority": "%REQ(:AUTHORITY)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "bytes_sent": "%BYTES_SENT%",
}
"""What every access-log line holds (JSON keys to Envoy's command operators); the logged request
headers and the shadow limiter's verdict come after."""


def access_log(path: Path, headers: Sequence[str]) -> list[dict[str, Any]]:
    fields: dict[str, Any] = dict(ACCESS_LOG_FIELDS)
    for header in log_headers(headers):
        fields[header] = f"%REQ({header})%"
    # Which shadow limit would have refused the request (see render_shadow). Always logged: shadowing
    # a limit rewrites its limiter file alone, never the listener that holds this format, and its
    # would-be refused clients must still be named.
    fields["shadow_limited"] = f"%REQ({SHADOW_HEADER})%"
    return [
        {
            "name": "envoy.access_loggers.file",
            # The connector's own probe requests are not traffic: keep them out of the log.
            "filter": {
                "header_filter": {
                    "header": {"name": PROBE_HEADER, "present_match": True, "invert_match": True}
                }
            },
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": str(path),
                "log_format": {"json_format": fields},
            },
        }
    ]


def log_headers(headers: Sequence[str]) -> list[str]:
    """The request headers to log, lower-cased, credentials dropped."""
    return [h for h in dict.fromkeys(x.strip().lower() for x in headers) if h and h not in SECRET_HEADERS]


def has_cors(routes: Sequence[Route]) -> bool:
    return any(r.cors is not None for r in routes)


def http_filters(routes: Sequence[Route], xds_dir: Path) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = fault_filters(routes)  # first, as Istio and Envoy Gateway have it
    if has_cors(routes):
        # Only while a route has a CORS policy: the filter costs every request ~4% of throughput
        # even when inert. Editing a policy pushes routes only; the first one added (or the last one
        # removed) on a listener rewrites it, and the plan says so (changes.cors_filter_flips).
        filters.append(
            {
                "name": CORS_FILTER,
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"},
            }
        )
    if has_deny(routes):  # only while a route denies someone (render_deny)
        filters.append(deny_filter())
    jwt = _jwt_filter(routes)
    if jwt is not None:
        filters.append(jwt)
    filters += [limiter_slot(r, xds_dir / limit_file(r.name)) for r in routes if has_limiter(r)]
    filters.append(
        {
            "name": ROUTER_FILTER,
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
        }
    )
    return filters


def listener(
    lst: Listener,
    routes: Sequence[Route],
    rds_path: Path,
    access_log_path: Path | None,
    headers: Sequence[str],
) -> dict[str, Any]:
    hcm: dict[str, Any] = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
        ".HttpConnectionManager",
        "stat_prefix": lst.name,
        "codec_type": "AUTO",
        # Clients send "Host: shop.local:10000"; virtual hosts are keyed by the bare host name.
        "strip_any_host_port": True,
        # Route, filter and backend all see one spelling of the path (see PATH_HANDLING).
        **PATH_HANDLING.hcm_fields(),
        "rds": {
            "route_config_name": lst.name,
            "config_source": {"resource_api_version": "V3", "path_config_source": {"path": str(rds_path)}},
        },
        "http_filters": http_filters(routes, rds_path.parent),
        # Only a shadow limiter may name a would-be refusal: a client's own header would make the
        # access log blame it (or anyone it claims to be) on any shadowed route. Removed before
        # routing and every filter.
        "early_header_mutation_extensions": [
            {
                "name": "envoy.http.early_header_mutation.header_mutation",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.http.early_header_mutation"
                    ".header_mutation.v3.HeaderMutation",
                    "mutations": [{"remove": SHADOW_HEADER}],
                },
            }
        ],
    }
    if access_log_path is not None:
        hcm["access_log"] = access_log(access_log_path, headers)
    return {
        "@type": LISTENER_TYPE,
        "name": lst.name,
        "address": {"socket_address": {"address": lst.address, "port_value": lst.port}},
        "filter_chains": [{"filters": [{"name": HCM_FILTER, "typed_config": hcm}]}],
    }
