"""Rate-limit edits on a native gateway under steady keep-alive load: client errors (goal 0) and
whether the other limited route's bucket was kept (goal: yes).

Three routes over two nginx backends: ``load`` (no limit; the keep-alive clients' route),
``edited`` (its limit is edited each time: 100, 110, 120, ... requests a second) and ``kept``
(5 an hour: Envoy refills a bucket continuously, 5 a minute would add a token every 12 s). Before
the edits 3 of ``kept``'s 5 tokens are spent; after them exactly 2 must be left (a refilled bucket
would give 5). Load: threads with keep-alive httpx clients sending
requests without pause. Edits come ``--gap`` seconds apart, longer than Envoy's 1 s drain time, as
an operator's would. Also prints how many times Envoy's listener was rewritten (LDS updates)
and how long each apply took.

    .venv/bin/python bench/bench_limit_edits.py [--edits 10] [--threads 4] [--gap 1.5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_weight_shifts import backends
from connectors.change import Change
from connectors.http_client import http_client
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from connectors.native.process import free_port


class Load:
    """Threads sending requests to ``load.bench`` without pause, one keep-alive client each."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.requests = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with http_client(base_url=self.url, timeout=5) as client:
            while not self._stop.is_set():
                try:
                    response = client.get("/", headers={"host": "load.bench"})
                    error = "" if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self.requests += 1
                    if error:
                        self.errors.append(error)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()


def config_text(port: int, p1: int, p2: int) -> str:
    return (
        "name: limits\n"
        f"listeners: [{{name: main, address: 127.0.0.1, port: {port}}}]\n"
        f'backends: [{{name: v1, endpoints: ["127.0.0.1:{p1}"]}},\n'
        f'           {{name: v2, endpoints: ["127.0.0.1:{p2}"]}}]\n'
        "routes:\n"
        "  - name: load\n    hosts: [load.bench]\n    backends: [{name: v1, weight: 100}]\n"
        "  - name: edited\n    hosts: [edited.bench]\n    backends: [{name: v2, weight: 100}]\n"
        "    rate_limit: {requests: 100, interval: 1s}\n"
        "  - name: kept\n    hosts: [kept.bench]\n    backends: [{name: v2, weight: 100}]\n"
        "    rate_limit: {requests: 5, interval: 1h}\n"
    )


def kept_codes(gw: NativeConnector, n: int) -> list[int]:
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        return [c.get("/", headers={"host": "kept.bench"}).status_code for _ in range(n)]


def lds_updates(gw: NativeConnector) -> int:
    name = "listener_manager.lds.update_success"
    return int(gw.admin.stats(r"^listener_manager\.lds\.update_success$").get(name) or 0)


def draining(gw: NativeConnector) -> int:
    name = "listener_manager.total_listeners_draining"
    return int(gw.admin.stats(r"^listener_manager\.total_listeners_draining$").get(name) or 0)


def edit_limits(gw: NativeConnector, edits: int, gap: float) -> tuple[list[float], list[str]]:
    apply_ms: list[float] = []
    problems: list[str] = []
    for i in range(edits):
        route = gw.get_route("edited")
        t0 = time.monotonic()
        result = Change(gw).apply(gw.plan([set_rate_limit(route, RateLimit(requests=110 + 10 * i))]))
        apply_ms.append((time.monotonic() - t0) * 1000)
        if not result.verification.ok:
            problems.append(f"edit {i}: verification failed {result.verification.details}")
        # An operator's pace: a listener drained for the edit (Envoy's drain time is 1 s) closes its
        # connections before the next edit; back-to-back edits would hide that.
        time.sleep(gap)
    return apply_ms, problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--gap", type=float, default=1.5, help="seconds between edits (default 1.5)")
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        sys.exit("nginx is required (Debian package nginx-light)")
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["GATEWAYCTL_STATE_DIR"] = str(tmp / "xdg")
        nginx, (p1, p2) = backends(tmp)
        config = tmp / "limits.yaml"
        config.write_text(config_text(free_port(), p1, p2))
        gw = NativeConnector.start(config, tmp / "state", owned=True)
        load = Load(gw.listener_url(), args.threads)
        try:
            spent = kept_codes(gw, 3)
            load.start()
            lds_before = lds_updates(gw)
            apply_ms, problems = edit_limits(gw, args.edits, args.gap)
            deadline = time.monotonic() + 10
            while draining(gw) and time.monotonic() < deadline:
                time.sleep(0.05)
            lds_during = lds_updates(gw) - lds_before
            after = kept_codes(gw, 3)
        finally:
            load.stop()
            gw.close()
            nginx.terminate()
            nginx.wait()
    kept = spent == [200] * 3 and after == [200, 200, 429]
    apply_ms.sort()
    print(f"limit edits:            {args.edits}")
    print(f"requests under load:    {load.requests}  ({args.threads} keep-alive clients)")
    print(
        f"client errors:          {len(load.errors)}  (goal 0)"
        + (f"  e.g. {load.errors[:3]}" if load.errors else "")
    )
    print(f"other route's bucket:   {'kept' if kept else 'REFILLED'}  (3 of 5 spent before; after: {after})")
    print(f"listener rewrites:      {lds_during}  (LDS updates during the edits)")
    print(f"apply() p50 / max:      {apply_ms[len(apply_ms) // 2]:.1f} / {apply_ms[-1]:.1f} ms")
    for p in problems[:10]:
        print("  " + p)


if __name__ == "__main__":
    main()
