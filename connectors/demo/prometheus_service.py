"""The demo's Prometheus: scrapes the demo Envoy every second when ``prometheus`` is installed.

Without the binary, or when it fails to start, the demo runs on without it and the console's charts
use Envoy's admin endpoint instead; the banner says which.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ProcessStartFailed
from .context import DemoContext, Service
from .prometheus import PrometheusProcess, find_prometheus

SCRAPE_INTERVAL_S = 1.0


class PrometheusService(Service):
    name = "prometheus"

    def __init__(self, scrape_interval: float = SCRAPE_INTERVAL_S) -> None:
        self.scrape_interval = scrape_interval
        self._process: PrometheusProcess | None = None
        self.note = ""

    def start(self, ctx: DemoContext) -> None:
        binary = find_prometheus()
        if binary is None:
            self.note = "not installed: charts use Envoy's admin stats"
            return
        if ctx.connector is None:
            self.note = "no gateway to scrape"
            return
        # The admin API is a Unix socket; Prometheus scrapes the loopback stats listener.
        stats = urlsplit(ctx.connector.stats_url)
        process = PrometheusProcess(
            [f"{stats.hostname}:{stats.port}"],
            metrics_path=stats.path,
            scrape_interval=self.scrape_interval,
            binary=binary,
            directory=ctx.state_dir / "prometheus",
        )
        try:
            ctx.prometheus_url = process.start()
        except ProcessStartFailed as exc:
            process.stop()
            self.note = f"did not start ({exc}): charts use Envoy's admin stats"
            return
        self._process = process

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.stop()

    def describe(self, ctx: DemoContext) -> list[str]:
        if self._process is not None:
            return [f"prometheus {self._process.url}  (scrapes Envoy every {self.scrape_interval:g}s)"]
        return [f"prometheus {self.note}"] if self.note else []
