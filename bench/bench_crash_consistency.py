"""Crash consistency of the native connector: change commands killed with SIGKILL mid-apply.

A real gateway (Envoy in front of two demo backends) takes ``--aimed`` kills aimed at the apply
window (0-50 ms after the first xDS file is replaced: found by polling the files' inodes, no hook in
the product) and ``--random`` kills at random moments of the command's life, cycling through
``set-weights``, ``set-rate-limit``, ``set-cors`` and ``undo``. After each kill the next command
(``routes -o json``, which reconciles first) runs, and the script checks what Envoy serves
(``/config_dump``) against what the tool shows, the history and audit log against what Envoy serves,
and looks for temp files or journal entries left behind.

Printed: kills landed, how often the next command rolled forward or back, and the count of states
where what Envoy serves differs from what the tool shows without saying so (must be 0).

    .venv/bin/python bench/bench_crash_consistency.py [--aimed 200] [--random 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.demo.backend import DemoBackend
from tests.crash_support import cli, inspect, kill_during, served
from tests.native_support import DemoBackends, JwtSigner, start_native_gateway, write_native_config

OPS = (
    lambda i: ["set-weights", "canary", f"v1={10 + i % 80}", f"v2={90 - i % 80}"],
    lambda i: ["set-rate-limit", "limited", "--requests", str(3 + i % 20), "--burst", str(3 + i % 20)],
    lambda i: ["set-cors", "cors", "--allow-origin", f"https://app{i % 50}.example", "--allow-method", "GET"],
    lambda i: ["undo"],
)


def command_seconds(state_dir: Path) -> float:
    """How long one change command takes here (the span the random kills are spread over)."""
    spans = []
    for i in range(3):
        start = time.monotonic()
        proc = cli(OPS[0](i + 100), state_dir)
        proc.communicate(timeout=60)
        spans.append(time.monotonic() - start)
    return sorted(spans)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aimed", type=int, default=200)
    parser.add_argument("--random", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    os.environ["GATEWAYCTL_STATE_DIR"] = str(root / "state")
    os.environ["GATEWAYCTL_CONFIG_DIR"] = str(root / "config-dir")
    backends = DemoBackends(DemoBackend("v1").start(), DemoBackend("v2").start())
    config = write_native_config(root / "config", backends, JwtSigner())
    gw = start_native_gateway(config, root / "state")
    audit = root / "state" / "audit.jsonl"
    counts = {
        "killed": 0,
        "ended first": 0,
        "forward": 0,
        "back": 0,
        "said drift": 0,
        "silent": 0,
        "leftovers": 0,
    }
    examples: list[str] = []
    try:
        span = command_seconds(gw.state_dir)
        plan = [(True, i) for i in range(args.aimed)] + [(False, i) for i in range(args.random)]
        for n, (aimed, i) in enumerate(plan):
            op = OPS[i % len(OPS)](i)
            before = served(gw.state_dir)
            delay = rng.uniform(0, 0.05) if aimed else rng.uniform(0, span * 1.2)
            kill = kill_during(op, gw.state_dir, delay, aimed=aimed)
            counts["killed" if kill.killed else "ended first"] += 1
            found = inspect(gw.state_dir, config, audit, before)
            counts["forward"] += "rolled forward" in found.said
            counts["back"] += "rolled back" in found.said
            counts["said drift"] += "drift" in found.said
            counts["silent"] += bool(found.silent)
            counts["leftovers"] += bool(found.leftovers)
            if (found.silent or found.leftovers) and len(examples) < 5:
                examples.append(f"{' '.join(op)} (+{delay * 1000:.0f} ms): {found.silent} {found.leftovers}")
            if (n + 1) % 25 == 0:
                print(f"  {n + 1}/{len(plan)} {counts}", flush=True)
    finally:
        gw.close()
        gw.stop()
        backends.v1.stop()
        backends.v2.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"kills aimed at the apply window (0-50 ms after an xDS file is replaced): {args.aimed}")
    print(f"kills at random moments (0-{span * 1.2 * 1000:.0f} ms after start): {args.random}")
    print(f"killed mid-command: {counts['killed']}, finished before the kill: {counts['ended first']}")
    print(f"next command rolled forward: {counts['forward']}, rolled back: {counts['back']}")
    print(f"next command reported drift: {counts['said drift']}")
    print(f"runs leaving temp files or journal entries: {counts['leftovers']}")
    print(f"states where Envoy serves something else than the tool shows, unsaid: {counts['silent']}")
    for line in examples:
        print(f"  e.g. {line}")
    return 0 if counts["silent"] == 0 and counts["leftovers"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
