"""Command-line start-up: CPU (user+sys) and wall time of whole ``gatewayctl-tui`` commands.

Each run is a fresh ``python -m tui.cli ...`` process, as the tests, operators' scripts and a cron
``revert-expired`` start it; its CPU comes from ``wait4`` (the process and the children it waited
for), its wall from ``Popen`` to exit. The commands: ``--help`` (and ``python -m tui --help``, the
other way in), ``routes -o json``, ``describe``, ``split`` (figures from Envoy's admin stats) and
``set-weights`` (a real change, plan → apply → verify → history, alternating between two splits so
every run changes something) against a native gateway (a real Envoy in front of two demo backends)
the script starts and stops, and a bad input that exits 2 (``set-weights ROUTE v1=abc``). A bare
``python -c pass`` is the floor every command pays. Every command's exit code is checked, so a
faster but broken command is no result.

    .venv/bin/python bench/bench_cli_startup.py [--runs 9] [--only routes,describe]

Goal: ``--help`` and a usage error < 100 ms CPU (they load no connector); for issue 9's faster test
suite, the figure to compare before/after is the median CPU per command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.demo.backend import DemoBackend  # noqa: E402
from tests.native_support import (  # noqa: E402
    DemoBackends,
    JwtSigner,
    start_native_gateway,
    write_native_config,
)


@dataclass(frozen=True)
class Case:
    """One command: its label, its arguments (the run's index picks a variant) and its exit code."""

    label: str
    argv: Callable[[int, Path], list[str]]
    exit_code: int = 0


def _cli(*args: str) -> Callable[[int, Path], list[str]]:
    return lambda _i, _state: ["-m", "tui.cli", *args]


def _on_gateway(*args: str) -> Callable[[int, Path], list[str]]:
    return lambda _i, state: ["-m", "tui.cli", *args, "--gateway", str(state)]


def _set_weights(i: int, state: Path) -> list[str]:
    v1 = (90, 80)[i % 2]
    return ["-m", "tui.cli", "set-weights", "canary", f"v1={v1}", f"v2={100 - v1}", "--gateway", str(state)]


CASES = (
    Case("python -c pass", lambda _i, _state: ["-c", "pass"]),
    Case("--help", _cli("--help")),
    Case("python -m tui --help", lambda _i, _state: ["-m", "tui", "--help"]),
    Case("routes --help", _cli("routes", "--help")),
    Case("routes -o json", _on_gateway("routes", "-o", "json")),
    Case("describe canary", _on_gateway("describe", "canary")),
    Case("split canary", _on_gateway("split", "canary")),
    Case("set-weights canary", _set_weights),
    Case("bad input (exit 2)", _on_gateway("set-weights", "canary", "v1=abc"), exit_code=2),
)


@dataclass(frozen=True)
class Sample:
    cpu: float  # seconds, user + sys of the process and its waited-for children
    wall: float


def child_env(scratch: Path) -> dict[str, str]:
    """The commands' environment. Like an installed package (and ``./dev test``), compiled bytecode
    is cached: this machine sets PYTHONDONTWRITEBYTECODE, which would make every run compile the
    project again. The cache lives in ``scratch``, outside the repository."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": str(scratch / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(argv: list[str], expected: int, scratch: Path) -> Sample:
    """One command in a fresh process; raises when it exits otherwise than ``expected``."""
    out, err = scratch / "stdout", scratch / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env=child_env(scratch),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    if proc.returncode != expected:
        said = err.read_text(errors="replace").strip()[-500:]
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}, not {expected}: {said}")
    return Sample(cpu=usage.ru_utime + usage.ru_stime, wall=wall)


def measure(cases: tuple[Case, ...], runs: int, state: Path, scratch: Path) -> dict[str, list[Sample]]:
    """``runs`` rounds; in each every command runs once, so a busy moment hits them all alike."""
    samples: dict[str, list[Sample]] = {case.label: [] for case in cases}
    for case in cases:  # warm-up: the bytecode cache, the page cache
        run_once(case.argv(0, state), case.exit_code, scratch)
    for i in range(runs):
        for case in cases:
            samples[case.label].append(run_once(case.argv(i + 1, state), case.exit_code, scratch))
    return samples


def report(samples: dict[str, list[Sample]]) -> None:
    width = max(len(label) for label in samples)
    print(f"{'command':<{width}}   cpu ms (median, min)   wall ms (median)")
    for label, runs in samples.items():
        cpu = [s.cpu * 1000 for s in runs]
        wall = statistics.median(s.wall * 1000 for s in runs)
        print(f"{label:<{width}}   {statistics.median(cpu):8.0f} {min(cpu):8.0f}       {wall:8.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (default 9)")
    parser.add_argument("--only", default="", help="comma-separated substrings of the commands to run")
    args = parser.parse_args()
    wanted = [w for w in args.only.split(",") if w]
    cases = tuple(c for c in CASES if not wanted or any(w in c.label for w in wanted))
    root = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    os.environ["GATEWAYCTL_STATE_DIR"] = str(root / "state")
    os.environ["GATEWAYCTL_CONFIG_DIR"] = str(root / "config-dir")
    backends = DemoBackends(DemoBackend("v1").start(), DemoBackend("v2").start())
    try:
        config = write_native_config(root / "config", backends, JwtSigner())
        gateway = start_native_gateway(config, root / "state")
        try:
            samples = measure(cases, args.runs, gateway.state_dir, root)
        finally:
            gateway.close()
            gateway.stop()
    finally:
        backends.v1.stop()
        backends.v2.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.runs} runs each, {sys.executable}")
    report(samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
