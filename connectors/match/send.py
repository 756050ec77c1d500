"""Send the request through the gateway exactly as explained, and find out which route answered.

The request goes out byte for byte (``http.client``: no client-side path clean-up, which httpx and
curl do), so Envoy routes the very path the prediction was made on. Which route took it comes from
the gateway's access log: the line whose client address is this request's own socket names the
route (``%ROUTE_NAME%``). Envoy writes that log every second, so the line is waited for, briefly.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ..probe import SHOWN_HEADERS, Answer, classify
from ..redact import redact_text
from .request import Request, headers_dict

LOG_WAIT_S = 3.0  # Envoy flushes the access log every second (--file-flush-interval-msec 1000)


@dataclass(frozen=True)
class Sent:
    """What the gateway answered, and the route its access log names for the request."""

    answer: Answer
    path: str  # exactly what was sent
    route: str | None = None  # the route that answered (None: no route took it)
    route_known: bool = False
    route_why: str = ""  # why the route is not known, when it is not

    @property
    def bucket(self) -> int | None:
        """The rate-limit tokens left after this request (x-ratelimit-remaining), when shown."""
        text = self.answer.headers.get("x-ratelimit-remaining")
        return int(text) if text is not None and text.isdigit() else None


def _exchange(base_url: str, request: Request, timeout: float) -> tuple[Answer, int | None]:
    """One request, the path untouched; the answer and the local port it came from."""
    url = urlsplit(base_url)
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    headers = {"host": request.raw_host or request.host, **headers_dict(request)}
    step: Literal["preflight", "request"] = "preflight" if request.is_preflight else "request"
    try:
        conn.request(request.method, request.path, headers=headers)
        port = conn.sock.getsockname()[1] if conn.sock is not None else None
        response = conn.getresponse()
        body = response.read(300).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(step, request.method, None, "unreachable", redact_text(f"no answer: {exc}")), None
    finally:
        conn.close()
    got = {k.lower(): v for k, v in response.getheaders()}
    answered_by, explanation = classify(step, response.status, got, body)
    # The location too: Envoy's own 307 for an escaped slash names the path it redirects to.
    shown = {k: got[k] for k in (*SHOWN_HEADERS, "location") if k in got}
    return Answer(
        step, request.method, response.status, answered_by, explanation, shown, redact_text(body)
    ), port


def _route_in_log(log: Path, offset: int, port: int, method: str, wait: float) -> tuple[bool, str | None]:
    """(found, route) for the access-log line of the request sent from ``port``."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with log.open("rb") as fh:
                fh.seek(offset)
                lines = fh.read().splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            client = str(record.get("client") or "")
            if client.rsplit(":", 1)[-1] == str(port) and record.get("method") == method:
                route = record.get("route")
                return True, route if isinstance(route, str) and route not in ("", "-") else None
        if time.monotonic() >= deadline:
            return False, None
        time.sleep(0.1)


def send(
    base_url: str,
    request: Request,
    *,
    access_log: Path | None = None,
    timeout: float = 5.0,
    log_wait: float = LOG_WAIT_S,
) -> Sent:
    """Send ``request`` to the gateway at ``base_url``; with ``access_log``, find the route that
    answered it there."""
    offset = access_log.stat().st_size if access_log is not None and access_log.exists() else 0
    answer, port = _exchange(base_url, request, timeout)
    if answer.status is None:
        return Sent(answer, request.path, route_why="no answer")
    if access_log is None:
        return Sent(answer, request.path, route_why="the gateway keeps no access log here")
    if port is None:
        return Sent(answer, request.path, route_why="the request's own address is not known")
    found, route = _route_in_log(access_log, offset, port, request.method, log_wait)
    if not found:
        why = f"its access-log line did not appear within {log_wait:g} s"
        return Sent(answer, request.path, route_why=why)
    return Sent(answer, request.path, route, True)
