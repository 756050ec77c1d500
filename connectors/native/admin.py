"""A small client for Envoy's admin endpoint (ready, stats, config_dump) with short timeouts.

A native gateway's admin listens on a Unix socket (``unix:/path/admin.sock``, mode 0600 in a 0700
folder): only the gateway's owner can reach it. ``http://host:port`` URLs work too."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import ConnectionFailed, GatewayNotRunning
from ..metrics_contract import UNIX, admin_http


class AdminClient:
    """Talks to one Envoy's admin listener. Every call raises GatewayNotRunning when nothing listens
    there and ConnectionFailed for other transport failures or unexpected answers."""

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url.rstrip("/")
        client, base = admin_http(self.url, timeout)
        client.base_url = httpx.URL(base)
        self._client = client
        self._where = f"socket {self.url.removeprefix(UNIX)}" if self.url.startswith(UNIX) else self.url

    def close(self) -> None:
        self._client.close()

    def _get(
        self, path: str, params: dict[str, str] | None = None, timeout: float | None = None
    ) -> httpx.Response:
        try:
            if timeout is None:
                return self._client.get(path, params=params)
            return self._client.get(path, params=params, timeout=timeout)
        except httpx.ConnectError as exc:
            raise GatewayNotRunning(f"Envoy's admin endpoint ({self._where}) refuses connections") from exc
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"Envoy's admin endpoint ({self._where}) did not answer: {exc}") from exc

    def ready(self) -> bool:
        """True when Envoy answers /ready with LIVE (server initialised, listeners warmed)."""
        response = self._get("/ready", timeout=0.5)
        return response.status_code == 200 and response.text.strip() == "LIVE"

    def server_info(self) -> dict[str, Any]:
        return self._json("/server_info")

    def stats(self, regex: str) -> dict[str, Any]:
        """Counters, gauges and text readouts whose names match the RE2 ``regex``, by name."""
        data = self._json("/stats", {"format": "json", "filter": regex}, timeout=30.0)
        out: dict[str, Any] = {}
        for item in data.get("stats", []):
            if "name" in item:
                out[item["name"]] = item.get("value")
        return out

    def stats_of_type(self, kind: str, regex: str) -> dict[str, Any]:
        """Like ``stats`` for one kind only (Counters, Gauges, TextReadouts, Histograms)."""
        # Stats queries cost O(number of stats): seconds with 10,000 routes on a busy machine.
        data = self._json("/stats", {"format": "json", "type": kind, "filter": regex}, timeout=30.0)
        return {item["name"]: item.get("value") for item in data.get("stats", []) if "name" in item}

    def config_dump(self, resource: str | None = None, **params: str) -> dict[str, Any]:
        query = dict(params)
        if resource:
            query["resource"] = resource
        return self._json("/config_dump", query, timeout=30.0)

    def clusters(self) -> dict[str, Any]:
        return self._json("/clusters", {"format": "json"})

    def _json(
        self, path: str, params: dict[str, str] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        response = self._get(path, params, timeout)
        if response.status_code != 200:
            raise ConnectionFailed(
                f"Envoy's admin endpoint answered {response.status_code} to {path}: {response.text[:200]}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise ConnectionFailed(f"Envoy's admin endpoint sent invalid JSON for {path}") from exc
        if not isinstance(data, dict):
            raise ConnectionFailed(f"Envoy's admin endpoint sent unexpected JSON for {path}")
        return data
