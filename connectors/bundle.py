"""A support bundle: what an upstream maintainer or a colleague needs to help, in one tar.gz —
the model, the connector's native config, its live state (native: Envoy's config_dump, stats,
clusters, server info), recent access-log and Envoy log lines, the history and the audit log.

Everything passes ``redact`` on the way in (credential headers, JWK private members, tokens), the
YAML is re-written from its parsed form (a comment can hold anything), and the archive and its
members are readable by the owner only (0600). A part that cannot be read (Envoy stopped) is
listed in ``manifest.json`` with the reason instead of failing the bundle.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GatewayError
from .metrics.clients import client_label, looks_like_key
from .paths import state_dir
from .redact import redact, redact_text

if TYPE_CHECKING:
    from .base import Connector

REDACTED = "credential headers, JWK private members, tokens; YAML re-written without its comments"
Part = tuple[str, Callable[[], bytes]]
"""A member of the bundle: its name and how to make its (already redacted) content."""


@dataclass
class BundleReport:
    path: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # name, bytes
    missing: dict[str, str] = field(default_factory=dict)  # name -> why it is not there


def json_bytes(value: Any) -> bytes:
    return (json.dumps(redact(value), indent=1, sort_keys=True, default=str) + "\n").encode()


def lines_bytes(lines: Iterable[str], fields: Collection[str] | None = None) -> bytes:
    """``fields``: an access log's own keys; any other key of its lines is a logged client header."""
    return "".join(redact_line(line, fields) + "\n" for line in lines).encode()


def redact_line(line: str, fields: Collection[str] | None = None) -> str:
    """A JSON line is redacted as data (its keys count), anything else as text. With ``fields``, a
    key-like client id (a header not in ``fields``) is shortened as triage shows it: its first
    characters and a hash, enough to match a key one holds, not to use it."""
    text = line.rstrip("\n")
    if text.startswith("{"):
        try:
            data = redact(json.loads(text))
        except ValueError:
            return redact_text(text)
        if fields is not None and isinstance(data, dict):
            data = {k: _client_id(k, v) if k not in fields else v for k, v in data.items()}
        return json.dumps(data, sort_keys=True, ensure_ascii=False)
    return redact_text(text)


def _client_id(header: str, value: Any) -> Any:
    return client_label(header, value) if isinstance(value, str) and looks_like_key(value) else value


def timestamp(value: Any) -> float | None:
    """Seconds since the epoch from a number or an ISO-8601 time (Envoy's and the audit log's)."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    for fmt in (None, "%Y-%m-%dT%H:%M:%S%z"):
        try:
            parsed = datetime.fromisoformat(text) if fmt is None else datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.timestamp()
    return None


def jsonl_since(
    path: Path, since: float, time_key: str, keep: Callable[[dict[str, Any]], bool] | None = None
) -> list[str]:
    """The JSON lines of ``path`` at or after ``since`` (lines without a readable time are kept)."""
    out = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict) or (keep is not None and not keep(data)):
            continue
        t = timestamp(data.get(time_key))
        if t is None or t >= since:
            out.append(line)
    return out


def tail_lines(path: Path, max_bytes: int = 2_000_000) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - max_bytes))
            return fh.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return []


def generic_parts(connector: Connector, since: float) -> Iterator[Part]:
    """What any connector can give: its routes, the history since ``since`` and its audit lines."""
    from .model import route_to_dict

    info = connector.info()
    yield "gateway.json", lambda: json_bytes({"kind": info.kind, "name": info.name, "details": info.details})
    yield "model/routes.json", lambda: json_bytes([route_to_dict(r) for r in connector.list_routes()])
    yield (
        "history.jsonl",
        lambda: lines_bytes(
            json.dumps(e.to_json(), sort_keys=True) for e in connector.history() if e.time >= since
        ),
    )
    audit = connector.audit_log.path if connector.audit_log is not None else state_dir() / "audit.jsonl"
    yield (
        "audit.jsonl",
        lambda: lines_bytes(jsonl_since(audit, since, "time", lambda d: d.get("gateway") == info.title)),
    )


def _member(tar: tarfile.TarFile, name: str, data: bytes, now: float) -> None:
    member = tarfile.TarInfo(f"gatewayctl-bundle/{name}")
    member.size, member.mode, member.mtime = len(data), 0o600, int(now)
    tar.addfile(member, io.BytesIO(data))


def write_bundle(connector: Connector, target: Path, since_s: float = 3600.0) -> BundleReport:
    """Write the bundle to ``target`` (atomically, mode 0600); blocking."""
    now = time.time()
    since = now - since_s
    parts = [*generic_parts(connector, since), *connector.bundle_parts(since)]
    report = BundleReport(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, make in parts:
                try:
                    data = make()
                except (GatewayError, OSError, ValueError) as exc:
                    title = f"{exc.title}: " if isinstance(exc, GatewayError) else ""  # "Invalid YAML: ..."
                    report.missing[name] = redact_text(f"{title}{exc}")
                    continue
                _member(tar, name, data, now)
                report.files.append((name, len(data)))
            manifest = {
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(since)),
                "gateway": connector.info().title,
                "files": dict(report.files),
                "missing": report.missing,
                "redacted": REDACTED,
            }
            _member(tar, "manifest.json", json_bytes(manifest), now)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return report
