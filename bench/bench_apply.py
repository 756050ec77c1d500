"""Apply → effective latency of the native connector, with 10, 1,000 and 10,000 routes.

For each size a real Envoy is started with N routes (each its own host, backends v1/v2 at 100/0).
Each round flips one random route's weights (100/0 ↔ 0/100) with ``apply()`` on a worker thread
while this thread probes that route over a keep-alive connection until the answers come from the
new backend. Printed per size: plan time, time until traffic follows the new weights
("effective"), and time until ``apply()`` returned (push + verify + YAML save + history), as
p50/p95 in milliseconds.

    .venv/bin/python bench/bench_apply.py [--sizes 10,1000,10000] [--rounds 30]

Goals: effective p50 < 50 ms at 1,000 routes and < 400 ms at 10,000.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.change import Change
from connectors.demo.backend import DemoBackend
from connectors.http_client import http_client
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.native.process import free_port


def write_config(path: Path, n: int, v1: str, v2: str) -> None:
    lines = [
        "# bench gateway",
        "name: bench",
        "listeners:",
        f"  - {{name: main, address: 127.0.0.1, port: {free_port()}}}",
        "backends:",
        f'  - {{name: v1, endpoints: ["{v1}"]}}',
        f'  - {{name: v2, endpoints: ["{v2}"]}}',
        "routes:",
    ]
    for i in range(n):
        lines += [
            f"  - name: r{i}",
            f"    hosts: [r{i}.bench]",
            "    backends: [{name: v1, weight: 100}, {name: v2, weight: 0}]",
        ]
    path.write_text("\n".join(lines) + "\n")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(n: int, rounds: int, root: Path, v1: DemoBackend, v2: DemoBackend) -> dict[str, list[float]]:
    config = root / f"bench-{n}.yaml"
    write_config(config, n, v1.address, v2.address)
    t0 = time.perf_counter()
    gw = NativeConnector.start(config, root / f"state-{n}", owned=True)
    started = time.perf_counter() - t0
    out: dict[str, list[float]] = {"plan": [], "effective": [], "apply": []}
    try:
        with http_client(base_url=gw.listener_url(), timeout=5) as client:
            for _ in range(rounds):
                name = f"r{random.randrange(n)}"
                host = {"host": f"{name}.bench"}
                now = client.get("/", headers=host).headers["x-backend"]
                target = "v2" if now == "v1" else "v1"
                t_plan = time.perf_counter()
                route = gw.get_route(name)
                plan = gw.plan([set_weights(route, {target: 100, now: 0})])
                out["plan"].append(time.perf_counter() - t_plan)
                done: list[float] = []
                errors: list[BaseException] = []

                def apply(
                    plan: object = plan, errors: list[BaseException] = errors, done: list[float] = done
                ) -> None:
                    try:
                        Change(gw).apply(plan)  # type: ignore[arg-type]
                    except BaseException as exc:
                        errors.append(exc)
                    done.append(time.perf_counter())

                start = time.perf_counter()
                worker = threading.Thread(target=apply)
                worker.start()
                while client.get("/", headers=host).headers["x-backend"] != target:
                    if errors or time.perf_counter() - start > 30:
                        raise RuntimeError(f"traffic never followed: {errors}")
                    time.sleep(0.002)
                effective = time.perf_counter() - start
                worker.join()
                if errors:
                    raise errors[0]
                out["effective"].append(effective)
                out["apply"].append(done[0] - start)
    finally:
        gw.close()
    print(f"  {n:>6} routes: Envoy started in {started:.2f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        os.environ["GATEWAYCTL_STATE_DIR"] = str(Path(tmp) / "xdg")
        with DemoBackend("v1") as v1, DemoBackend("v2") as v2:
            results = {
                n: run(n, args.rounds if n < 10000 else max(10, args.rounds // 2), Path(tmp), v1, v2)
                for n in sizes
            }
    print()
    header = ("routes", "rounds", "plan p50", "effective p50", "p95", "apply() p50", "p95")
    print("{:>7} {:>6} {:>9} {:>14} {:>7} {:>12} {:>7}".format(*header))
    for n, r in results.items():
        ms = {k: [v * 1000 for v in vs] for k, vs in r.items()}
        print(
            f"{n:>7} {len(ms['effective']):>6} {statistics.median(ms['plan']):>8.1f}  "
            f"{statistics.median(ms['effective']):>13.1f} {pct(ms['effective'], 0.95):>7.1f} "
            f"{statistics.median(ms['apply']):>12.1f} {pct(ms['apply'], 0.95):>7.1f}"
        )
    print("(milliseconds; goals: effective p50 < 50 at 1,000 routes, < 400 at 10,000)")


if __name__ == "__main__":
    main()
