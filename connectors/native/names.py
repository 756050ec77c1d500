"""Names shared by the Envoy resources the native connector writes.

One Envoy cluster per (route, backend) pair, so Envoy's per-cluster stats are per route *and* per
backend; the metrics side maps them back with ``split_cluster_name``.
"""

from __future__ import annotations

CLUSTER_SEP = "~"
RATE_LIMIT_STAT_PREFIX = "gw_rate_limit"

CORS_FILTER = "envoy.filters.http.cors"
JWT_FILTER = "envoy.filters.http.jwt_authn"
ROUTER_FILTER = "envoy.filters.http.router"
RBAC_FILTER = "envoy.filters.http.rbac"
# One rate limiter per limited route (render_limits), named this plus the route's name; its config
# is the ECDS resource of the same name, in the file ``limit_file(route)``.
LIMIT_FILTER_PREFIX = "gatewayctl.ratelimit/"
HCM_FILTER = "envoy.filters.network.http_connection_manager"

TYPE = "type.googleapis.com/"
CLUSTER_TYPE = TYPE + "envoy.config.cluster.v3.Cluster"
LISTENER_TYPE = TYPE + "envoy.config.listener.v3.Listener"
ROUTE_CONFIG_TYPE = TYPE + "envoy.config.route.v3.RouteConfiguration"


def cluster_name(route: str, backend: str) -> str:
    return f"{route}{CLUSTER_SEP}{backend}"


def split_cluster_name(name: str) -> tuple[str, str] | None:
    route, sep, backend = name.partition(CLUSTER_SEP)
    return (route, backend) if sep and route and backend else None


def jwt_provider_name(route: str, provider: str) -> str:
    """Provider names are global in the filter; prefixing the route keeps two routes' providers apart."""
    return f"{route}{CLUSTER_SEP}{provider}"


def rds_file(listener: str) -> str:
    return f"rds-{listener}.json"


def limit_filter_name(route: str) -> str:
    return LIMIT_FILTER_PREFIX + route


def limit_file(route: str) -> str:
    return f"limit-{route}.json"


LIMIT_FILE_GLOB = "limit-*.json"


# The probe virtual host (see render.with_probe): its domain and the header carrying the token.
PROBE_HOST = "gatewayctl-probe.internal"
PROBE_HEADER = "x-gatewayctl-probe"

CDS_FILE = "cds.json"
LDS_FILE = "lds.json"
BOOTSTRAP_FILE = "bootstrap.json"
