"""The demo's own Prometheus (also used by the tests): temp config and data, a free 127.0.0.1 port.

Targets are given through a file-based service discovery file, so they can change while Prometheus
runs (a restarted gateway with a new admin port): Prometheus watches the file and picks up a
rewrite within a second. Envoy's metrics are scraped from its admin endpoint's ``/stats/prometheus``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from ..errors import ProcessStartFailed
from ..http_client import http_client
from ..native.xds import atomic_write
from ..paths import private_dir
from ..process import free_port, spawn
from ..process import stop as stop_process

ENVOY_METRICS_PATH = "/stats/prometheus"


def find_prometheus() -> str | None:
    """The ``prometheus`` binary on PATH (Debian's package installs /usr/bin/prometheus)."""
    return shutil.which("prometheus")


def config_text(scrape_interval: float, metrics_path: str, targets_file: Path) -> str:
    """Prometheus configuration (JSON is valid YAML) scraping the targets listed in ``targets_file``."""
    interval = f"{scrape_interval:g}s"
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": "gateway",
                "metrics_path": metrics_path,
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "file_sd_configs": [{"files": [str(targets_file)], "refresh_interval": "5s"}],
            }
        ],
    }
    return json.dumps(config, indent=2)


class PrometheusProcess:
    """``start()`` → ``url``; ``set_targets()`` any time; ``stop()`` removes everything it made."""

    def __init__(
        self,
        targets: Sequence[str] = (),
        *,
        scrape_interval: float = 1.0,
        metrics_path: str = ENVOY_METRICS_PATH,
        labels: Mapping[str, str] | None = None,
        binary: str | None = None,
        port: int | None = None,
        owned: bool = True,
        directory: Path | None = None,
    ) -> None:
        self.binary = binary or find_prometheus()
        self.scrape_interval = scrape_interval
        self.metrics_path = metrics_path
        self.labels = dict(labels or {})
        self.port = port or free_port()
        # Config and data: under ``directory`` (e.g. the demo's state dir, so nothing is left in /tmp
        # even when the demo is killed) or a temp dir of its own.
        if directory is not None:
            private_dir(directory)
            self._dir = directory
        else:
            self._dir = Path(tempfile.mkdtemp(prefix="gatewayctl-prometheus-"))
        self._targets = list(targets)
        self._proc: subprocess.Popen[bytes] | None = None
        # Owned: Prometheus dies with this process, even on SIGKILL (like the demo's Envoy).
        self.owned = owned

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def set_targets(self, targets: Sequence[str]) -> None:
        """Scrape these ``host:port`` targets from now on (written atomically: Prometheus watches it)."""
        self._targets = list(targets)
        path = self._dir / "targets.json"
        atomic_write(path, json.dumps([{"targets": self._targets, "labels": self.labels}]))

    def start(self, timeout: float = 20.0) -> str:
        """Start (or start again, keeping the data) and wait until Prometheus is ready; its URL."""
        if self.binary is None:
            raise ProcessStartFailed("prometheus is not installed (no 'prometheus' on PATH)")
        if self.running:
            return self.url
        self.set_targets(self._targets)
        config = self._dir / "prometheus.yml"
        atomic_write(config, config_text(self.scrape_interval, self.metrics_path, self._dir / "targets.json"))
        log_path = self._dir / "prometheus.log"
        command = [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self._dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]

        try:
            # Owned: dies with this process, like the demo's Envoy (connectors.process).
            self._proc = spawn(command, log_path, owned=self.owned)
        except OSError as exc:
            raise ProcessStartFailed(f"cannot run {self.binary}: {exc.strerror or exc}") from exc
        deadline = time.monotonic() + timeout
        with http_client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                    self._reap()
                    raise ProcessStartFailed("Prometheus exited while starting: " + " / ".join(tail))
                try:
                    if client.get(self.url + "/-/ready").status_code == 200:
                        return self.url
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.stop(remove=False)
        raise ProcessStartFailed(f"Prometheus did not become ready within {timeout:g} s")

    def stop(self, *, remove: bool = True) -> None:
        """Stop Prometheus; ``remove`` also deletes its config and data (keep them to start again)."""
        self._reap()
        if remove:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_process(proc, grace=10)

    def __enter__(self) -> PrometheusProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
