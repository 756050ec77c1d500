"""The native gateway's part of a support bundle: the YAML (parsed, redacted, comments dropped),
the model as loaded, Envoy's xDS files, its live config_dump, stats, clusters and server info,
the access-log lines since the bundle's start and the end of Envoy's log."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..bundle import Part, json_bytes, jsonl_since, lines_bytes, tail_lines, timestamp
from ..errors import GatewayError
from ..model import gateway_to_dict
from ..redact import MASK, redact
from .render_listener import ACCESS_LOG_FIELDS
from .state import GatewayState

if TYPE_CHECKING:
    from ..model import Gateway
    from .lifecycle import EnvoyLifecycle


def _yaml_bytes(path: Path) -> bytes:
    from .config_file import load_text

    # The tool's own loader: size and alias caps; a broken file is a GatewayError with its line, so
    # the bundle leaves this part out, says why, and collects the rest.
    data = load_text(path.read_text(encoding="utf-8"), str(path))
    return yaml.safe_dump(redact(data), sort_keys=False, allow_unicode=True).encode()


def _json_file(path: Path) -> bytes:
    return json_bytes(json.loads(path.read_text(encoding="utf-8")))


def _envoy_log(path: Path, since: float) -> list[str]:
    """Envoy's log lines since ``since`` (lines start ``[2025-01-02 03:04:05.678][...]``)."""
    out, keep = [], False
    for line in tail_lines(path):
        if line.startswith("[") and len(line) > 24:
            t = timestamp(line[1:24].replace(" ", "T"))
            keep = t is None or t >= since
        if keep:
            out.append(line)
    return out


def native_parts(conn: EnvoyLifecycle, model: Callable[[], Gateway], since: float) -> Iterator[Part]:
    """The native parts, each with the gateway's probe token (a shared secret that opens the probe
    virtual host, in the routes files and config_dump) masked as well."""
    token = GatewayState.read(conn.state_dir).probe_token.encode()
    for name, make in _parts(conn, model, since):
        yield name, partial(_scrubbed, make, token)


def _scrubbed(make: Callable[[], bytes], secret: bytes) -> bytes:
    data = make()
    return data.replace(secret, MASK.encode()) if secret else data


def _parts(conn: EnvoyLifecycle, model: Callable[[], Gateway], since: float) -> Iterator[Part]:
    state_dir: Path = conn.state_dir
    yield "native/config.yaml", lambda: _yaml_bytes(conn.config_path)
    yield "model/gateway.json", lambda: json_bytes(gateway_to_dict(model()))
    yield "native/state.json", lambda: _json_file(state_dir / "state.json")
    for path in sorted(conn.layout.xds_dir.glob("*.json")):
        yield f"native/xds/{path.name}", partial(_json_file, path)
    admin = conn.admin

    def admin_json(call: str, *args: Any) -> bytes:
        if not conn.is_running():
            raise GatewayError(conn.health() or "Envoy is not running")
        return json_bytes(getattr(admin, call)(*args))

    yield "envoy/config_dump.json", lambda: admin_json("config_dump")
    yield "envoy/stats.json", lambda: admin_json("stats", ".*")
    yield "envoy/clusters.json", lambda: admin_json("clusters")
    yield "envoy/server_info.json", lambda: admin_json("server_info")
    # Any key but the log's own fields is a logged client header (render_listener.access_log).
    own = {*ACCESS_LOG_FIELDS, "shadow_limited"}
    yield "access.log", lambda: lines_bytes(jsonl_since(conn.access_log_path, since, "time"), own)
    yield "envoy.log", lambda: lines_bytes(_envoy_log(conn.log_path, since))
