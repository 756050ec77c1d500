"""Envoy JSON access logs: parse records and follow a growing file.

Envoy's rate limiter counts 429s for the whole filter, not per route; the access log names the route
of every request (``%ROUTE_NAME%``) with its response code and flags (``RL`` = rate limited), so it is
where the per-route and per-client split comes from. Three layouts are understood: the native
connector's (``route``, ``status``, ``flags``, ``client``), Envoy Gateway's default JSON format and
Istio's JSON format (``route_name``, ``response_code``, ``response_flags``,
``downstream_remote_address``). Any other string field is a request header the gateway logs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .clients import strip_port

_ROUTE = ("route", "route_name")
_STATUS = ("status", "response_code", "code")
_FLAGS = ("flags", "response_flags")
_CLIENT = ("client", "downstream_remote_address")
_CLUSTER = ("upstream_cluster", "cluster")
_TIME = ("time", "start_time")
# Fields that are not request headers (or are headers useless for telling clients apart).
_NOT_CLIENT_KEYS = frozenset(
    {
        *_ROUTE,
        *_STATUS,
        *_FLAGS,
        *_CLIENT,
        *_CLUSTER,
        *_TIME,
        "duration",
        "duration_ms",
        "upstream_host",
        "upstream_local_address",
        "downstream_local_address",
        "upstream_service_time",
        "x-envoy-upstream-service-time",
        "upstream_transport_failure_reason",
        "response_code_details",
        "connection_termination_details",
        "requested_server_name",
        "method",
        "authority",
        ":authority",
        "path",
        "x-envoy-origin-path",
        "protocol",
        "bytes_sent",
        "bytes_received",
        "x-request-id",
        "request_id",
    }
)


@dataclass(frozen=True)
class LogRecord:
    """One access log line: the route, status, response flags and client."""

    route: str
    status: int
    flags: str = ""
    client: str = ""  # address without the port
    cluster: str = ""
    time: float | None = None  # unix seconds
    headers: Mapping[str, str] = field(default_factory=dict)
    # The backend address the request went to: "" when Envoy answered itself, None when the log
    # format does not say.
    upstream_host: str | None = None

    @property
    def rate_limited(self) -> bool:
        """Refused by the gateway's rate limiter (flag RL), or a 429 when the log has no flags."""
        if self.flags and self.flags != "-":
            return "RL" in self.flags.split(",")
        return self.status == 429

    @property
    def local(self) -> bool:
        """Answered by the gateway itself (a 401 from the JWT check, a 429, a CORS preflight): the
        request never reached a backend."""
        return self.upstream_host == ""


def _first(data: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for k in keys:
        v = data.get(k)
        if v is not None and v != "-":
            return v
    return None


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_record(data: Mapping[str, Any]) -> LogRecord | None:
    """A record from one decoded JSON log line; None when it is not an HTTP access record."""
    status = _first(data, _STATUS)
    try:
        code = int(status)
    except (TypeError, ValueError):
        return None
    route = _first(data, _ROUTE)
    headers = {
        k.lower(): v
        for k, v in data.items()
        if isinstance(v, str) and v not in ("", "-") and k not in _NOT_CLIENT_KEYS
    }
    client = _first(data, _CLIENT)
    return LogRecord(
        route=str(route) if route is not None else "",
        status=code,
        flags=str(_first(data, _FLAGS) or ""),
        client=strip_port(str(client)) if client is not None else "",
        cluster=str(_first(data, _CLUSTER) or ""),
        time=_parse_time(_first(data, _TIME)),
        headers=headers,
        upstream_host=str(_first(data, ("upstream_host",)) or "") if "upstream_host" in data else None,
    )


def parse_line(line: str) -> LogRecord | None:
    """A record from one log line; None for blank, non-JSON or non-HTTP lines (Envoy's own log,
    a line cut short by rotation)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return parse_record(data) if isinstance(data, dict) else None


def parse_lines(lines: Iterable[str]) -> list[LogRecord]:
    return [r for r in map(parse_line, lines) if r is not None]


class LogTail:
    """Reads the lines appended to a file since the last call.

    Starts at the end of the file (history before the console connected is not counted) unless
    ``from_start``. A file that shrank or was replaced (rotation, a restarted gateway) is read from
    its beginning. A partial last line waits for its newline.
    """

    def __init__(self, path: Path, *, from_start: bool = False, max_read: int = 8 << 20) -> None:
        self.path = path
        self.max_read = max_read
        self._inode: int | None = None
        self._offset = 0
        self._partial = b""
        if not from_start:
            try:
                st = os.stat(path)
                self._inode, self._offset = st.st_ino, st.st_size
            except OSError:
                pass

    def read_lines(self) -> list[str]:
        try:
            st = os.stat(self.path)
        except OSError:
            return []  # not written yet: Envoy creates it on the first request
        if st.st_ino != self._inode or st.st_size < self._offset:
            self._inode, self._offset, self._partial = st.st_ino, 0, b""
        if st.st_size == self._offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read(self.max_read)
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return [ln.decode("utf-8", "replace") for ln in lines if ln]
