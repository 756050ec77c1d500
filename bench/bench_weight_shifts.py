"""100 weight shifts on a native gateway under steady load: failed requests (goal 0) and whether
the measured split follows every shift.

Load: a few threads with keep-alive clients send requests without pause through the gateway to
a route split between v1 and v2 (two nginx servers that name themselves in ``x-backend``). Each
shift applies new weights through the connector; the split of the requests *started after*
``apply()`` returned is compared with the new weights (exact for 0 and 100, within 4 standard
deviations — at least 10 points — otherwise).

    .venv/bin/python bench/bench_weight_shifts.py [--shifts 100] [--threads 4] [--sample 200]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.change import Change
from connectors.http_client import http_client, http_get
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.native.process import free_port

WEIGHTS = [0, 10, 25, 50, 75, 90, 100]


class Load:
    """Threads sending requests; every answer is recorded as (start time, backend or error)."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.records: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with http_client(base_url=self.url, timeout=5) as client:
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    response = client.get("/", headers={"host": "shift.bench"})
                    outcome = response.headers.get("x-backend", "?") if response.status_code == 200 else ""
                    if not outcome:
                        outcome = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    outcome = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self.records.append((start, outcome))
                    if outcome not in ("v1", "v2"):
                        self.errors.append(outcome)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def sample_after(self, t0: float, n: int, timeout: float = 10) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                after = [b for t, b in self.records if t >= t0]
            if len(after) >= n or time.monotonic() > deadline:
                return after[:n]
            time.sleep(0.005)


def backends(tmp: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    ports = [free_port(), free_port()]
    servers = "".join(
        f"server {{ listen 127.0.0.1:{p}; keepalive_requests 1000000; "
        f'location / {{ add_header x-backend {name} always; return 200 "{name}\\n"; }} }}\n'
        for name, p in zip(("v1", "v2"), ports, strict=True)
    )
    temp_paths = "".join(
        f"{k}_temp_path {tmp}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\ndaemon off;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log warn;\n"
        f"events {{ worker_connections 1024; }}\nhttp {{\naccess_log off;\n{temp_paths}{servers}}}\n"
    )
    proc = subprocess.Popen(["nginx", "-e", str(tmp / "error.log"), "-p", str(tmp), "-c", str(conf)])
    deadline = time.monotonic() + 10
    while True:
        try:
            http_get(f"http://127.0.0.1:{ports[1]}/", timeout=1)
            return proc, ports
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shifts", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        sys.exit("nginx is required (Debian package nginx-light)")
    with tempfile.TemporaryDirectory(prefix="bench-shifts-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["GATEWAYCTL_STATE_DIR"] = str(tmp / "xdg")
        nginx, (p1, p2) = backends(tmp)
        config = tmp / "shift.yaml"
        config.write_text(
            "name: shifts\n"
            f"listeners: [{{name: main, address: 127.0.0.1, port: {free_port()}}}]\n"
            f'backends: [{{name: v1, endpoints: ["127.0.0.1:{p1}"]}},\n'
            f'           {{name: v2, endpoints: ["127.0.0.1:{p2}"]}}]\n'
            "routes:\n"
            "  - name: shift\n    hosts: [shift.bench]\n"
            "    backends: [{name: v1, weight: 100}, {name: v2, weight: 0}]\n"
        )
        gw = NativeConnector.start(config, tmp / "state", owned=True)
        load = Load(gw.listener_url(), args.threads)
        load.start()
        misses: list[str] = []
        apply_ms: list[float] = []
        worst = 0.0
        try:
            current = 100
            for i in range(args.shifts):
                target = random.choice([w for w in WEIGHTS if w != current])
                route = gw.get_route("shift")
                t0 = time.monotonic()
                result = Change(gw).apply(gw.plan([set_weights(route, {"v1": target, "v2": 100 - target})]))
                apply_ms.append((time.monotonic() - t0) * 1000)
                if not result.verification.ok:
                    misses.append(f"shift {i}: verification failed {result.verification.details}")
                after = load.sample_after(time.monotonic(), args.sample)
                share = 100 * after.count("v1") / max(1, len(after))
                if target in (0, 100):
                    ok = share == target
                else:
                    sd = 100 * math.sqrt(target / 100 * (1 - target / 100) / len(after))
                    ok = abs(share - target) <= max(10.0, 4 * sd)
                    worst = max(worst, abs(share - target))
                if not ok:
                    misses.append(f"shift {i}: v1 {target}% applied, {share:.1f}% measured over {len(after)}")
                current = target
        finally:
            load.stop()
            gw.close()
            nginx.terminate()
            nginx.wait()
    total = len(load.records)
    apply_ms.sort()
    print(f"shifts:                 {args.shifts}")
    print(f"requests under load:    {total}  ({args.threads} threads)")
    print(
        f"failed requests:        {len(load.errors)}  (goal 0)"
        + (f"  e.g. {load.errors[:3]}" if load.errors else "")
    )
    print(f"splits that followed:   {args.shifts - len(misses)} of {args.shifts}")
    print(f"largest deviation (mixed splits, {args.sample}-request samples): {worst:.1f} points")
    p50, p95 = apply_ms[len(apply_ms) // 2], apply_ms[int(len(apply_ms) * 0.95)]
    print(f"apply() p50 / p95:      {p50:.1f} / {p95:.1f} ms")
    for m in misses[:10]:
        print("  " + m)


if __name__ == "__main__":
    main()
