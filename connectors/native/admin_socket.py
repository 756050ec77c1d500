"""Where a native gateway's Envoy admin API lives: a Unix socket only its owner can open.

Envoy's admin API can stop Envoy (``/quitquitquit``), change its log level and dump its whole config
(JWKS and header secrets included): on a TCP port any local user could do that. So the admin binds
a Unix socket (Envoy's ``pipe`` address) with mode 0600 in the gateway's 0700 state folder; the
console, the CLI and the metrics reach it through ``unix:/path/admin.sock`` URLs.

Prometheus cannot scrape a Unix socket, so (as Istio does with its port 15090) a loopback listener
serves one route, ``GET /stats/prometheus``, sent to a cluster whose endpoint is the admin socket;
every other admin path stays on the socket.

A socket path must fit in ``sun_path`` (108 bytes with its NUL): when the state folder's path is
too long, the socket goes to a short private runtime folder instead (recorded in ``state.json``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from ..errors import ProcessStartFailed
from ..metrics_contract import UNIX
from ..paths import private_dir

SOCKET_NAME = "admin.sock"
MAX_SOCKET_PATH = 100  # bytes; sun_path holds 107 plus the NUL, keep a margin
STATS_LISTENER = "gatewayctl_stats"
ADMIN_CLUSTER = "gatewayctl_admin"
STATS_PATH = "/stats/prometheus"
SOCKET_MODE = 0o600

__all__ = [
    "ADMIN_CLUSTER",
    "STATS_LISTENER",
    "STATS_PATH",
    "admin_bootstrap",
    "admin_url",
    "socket_path",
    "stats_url",
]


def socket_path(state_dir: Path) -> Path:
    """The admin socket for the gateway in ``state_dir``: inside it when the path is short enough,
    else in a private runtime folder (``$XDG_RUNTIME_DIR`` or ``/tmp/gatewayctl-tui-<uid>``)."""
    state_dir = state_dir.resolve()
    inside = state_dir / SOCKET_NAME
    if len(os.fsencode(str(inside))) <= MAX_SOCKET_PATH:
        return inside
    key = hashlib.sha256(str(state_dir).encode()).hexdigest()[:16]
    folders = [Path(f"/tmp/gatewayctl-tui-{os.getuid()}")]
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        folders.insert(0, Path(runtime) / "gatewayctl-tui")
    for folder in folders:
        candidate = folder / f"{key}.sock"
        if len(os.fsencode(str(candidate))) <= MAX_SOCKET_PATH:
            _own_private_folder(folder)
            return candidate
    raise ProcessStartFailed(f"no short enough path for the admin socket of {state_dir}")


def _own_private_folder(folder: Path) -> None:
    """``folder`` made 0700, refusing one someone else made (in /tmp, another user could have
    created it first to watch or replace the socket)."""
    private_dir(folder)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ProcessStartFailed(
            f"{folder} is not a private folder of this user: remove it, or set $XDG_RUNTIME_DIR"
        )


def admin_url(socket: Path) -> str:
    return f"{UNIX}{socket}"


def stats_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{STATS_PATH}"


def admin_bootstrap(socket: Path, stats_port: int) -> dict[str, Any]:
    """The bootstrap's ``admin`` and ``static_resources``: the admin on ``socket``, the loopback
    stats listener on ``stats_port`` (0: any free port, read back from Envoy once it runs)."""
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    }
    route = {
        "match": {"path": STATS_PATH, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
        "route": {"cluster": ADMIN_CLUSTER},
    }
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
        ".HttpConnectionManager",
        # "admin": the metrics sources leave http.admin.* out of the gateway's request figures.
        "stat_prefix": "admin",
        "route_config": {"virtual_hosts": [{"name": "stats", "domains": ["*"], "routes": [route]}]},
        "http_filters": [router],
    }
    listener = {
        "name": STATS_LISTENER,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": stats_port}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}
        ],
    }
    endpoint = {"endpoint": {"address": {"pipe": {"path": str(socket)}}}}
    cluster = {
        "name": ADMIN_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": ADMIN_CLUSTER, "endpoints": [{"lb_endpoints": [endpoint]}]},
    }
    return {
        "admin": {"address": {"pipe": {"path": str(socket), "mode": SOCKET_MODE}}},
        "static_resources": {"listeners": [listener], "clusters": [cluster]},
    }
