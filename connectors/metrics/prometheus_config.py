"""How to reach a Prometheus (``--prometheus URL`` and its options), checked before any query.

Kept apart from the source so that naming a Prometheus does not import its HTTP client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import Problem
from ..model.durations import parse_duration


@dataclass(frozen=True)
class PrometheusConfig:
    """Where Prometheus is and how to talk to it. ``selector`` adds label matchers to every query
    (``job="edge"``) when the Prometheus scrapes more than this gateway; ``rate_window`` is the range
    of ``rate()`` for current figures: None picks four times the shortest scrape interval in
    Prometheus' configuration (one minute when that cannot be read)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: bool = True
    ca_file: str | None = None
    timeout: float = 5.0
    selector: str = ""
    rate_window: str | None = None

    def problems(self) -> list[Problem]:
        out = []
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            out.append(
                Problem("prometheus", f"{self.url!r} is not a Prometheus URL (expected http(s)://host:port)")
            )
        else:
            try:
                parts.port  # noqa: B018 - raises on a port that is not a number
            except ValueError:
                out.append(Problem("prometheus", f"{self.url!r} has an invalid port"))
        if self.ca_file is not None and not Path(self.ca_file).is_file():
            out.append(Problem("prometheus.ca_file", f"CA file {self.ca_file} does not exist"))
        if not self.timeout > 0:
            out.append(Problem("prometheus.timeout", "the timeout must be a positive number of seconds"))
        try:
            if self.rate_window is not None and parse_duration(self.rate_window) <= 0:
                raise ValueError
        except (ValueError, TypeError):
            out.append(
                Problem("prometheus.rate_window", f"{self.rate_window!r} is not a duration such as 30s")
            )
        for name in self.headers:
            if not re.fullmatch(r"[A-Za-z0-9-]+", name):
                out.append(Problem("prometheus.headers", f"{name!r} is not a valid header name"))
        return out
