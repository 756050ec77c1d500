"""What a command loads before it needs it. The parser is built from light modules: ``--help`` and a
usage error (exit 2) load no HTTP, Kubernetes, Prometheus, YAML or Textual library and no connector
beyond the registry's factories; each command's handler imports what it uses when it runs, and a
gateway's own metrics source loads no Prometheus client. Every test suite run and operator script
starts the command line hundreds of times, so these hold the start-up that
``bench/bench_cli_startup.py`` measures (speed itself is measured there, not here).

Each case runs in a fresh interpreter: this one has loaded everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEAVY = (
    "httpx",
    "httpcore",
    "textual",
    "rich",
    "kubernetes",
    "prometheus_api_client",
    "yaml",
    "ruamel",
    "tui.app",
    "connectors.base",
    "connectors.change",
    "connectors.native.connector",
    "connectors.kube.cluster",
    "connectors.metrics",
)
"""Loaded by the handlers that use them, never by building the parser."""


def loaded_after(code: str) -> tuple[set[str], dict[str, object]]:
    """The modules a fresh interpreter holds after ``code``, and what ``code`` put in ``result``."""
    script = (
        "import contextlib, io, json, sys\n"
        "result = {}\n"
        f"{code}\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'result': result}))\n"
    )
    env = {**os.environ, "NO_COLOR": "1", "GATEWAYCTL_GATEWAY": ""}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.splitlines()[-1])
    return set(data["modules"]), data["result"]


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def _main(argv: list[str]) -> str:
    """Code that runs the command line with ``argv``, its output swallowed, its exit code in result."""
    return (
        "from tui.cli import main\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
        f"    result['rc'] = main({argv!r})\n"
        "result['out'], result['err'] = out.getvalue(), err.getvalue()\n"
    )


@pytest.mark.parametrize("argv", [["--help"], ["routes", "--help"], ["set-weights", "--help"]])
def test_help_loads_no_heavy_library_and_no_connector(argv: list[str]) -> None:
    modules, result = loaded_after(_main(argv))
    assert result["rc"] == 0 and "--gateway" in str(result["out"]), result
    assert heavy(modules) == []
    assert "connectors.model" not in modules  # not even the model: help describes no route


def test_a_usage_error_loads_no_heavy_library(tmp_path: Path) -> None:
    argv = ["set-weights", "shop", "v1=abc", "--gateway", str(tmp_path)]
    modules, result = loaded_after(_main(argv))
    assert result["rc"] == 2
    assert "weight of 'v1' must be a whole number" in str(result["err"])
    assert heavy(modules) == []


def test_the_parser_still_has_every_connectors_options() -> None:
    """The factories are still found through their entry points when the parser is built."""
    modules, result = loaded_after(
        "from tui.cli import build_parser\nresult['help'] = build_parser().format_help()\n"
    )
    for option in ("--gateway", "--context", "--namespace", "--readonly", "--prometheus"):
        assert option in str(result["help"])
    assert {"connectors.native.factory", "connectors.kube.factory"} <= modules
    assert heavy(modules) == []


def test_a_gateways_own_metrics_source_loads_no_prometheus_client() -> None:
    modules, result = loaded_after(
        "from connectors.metrics import metrics_for\n"
        "from connectors.metrics_contract import MetricsHooks\n"
        "class Gateway:\n"
        "    def metrics_hooks(self) -> MetricsHooks:\n"
        "        return MetricsHooks(admin_url=lambda: 'unix:/nowhere/admin.sock')\n"
        "result['source'] = type(metrics_for(Gateway())).__name__\n"
    )
    assert result["source"] == "EnvoyAdminSource"
    client = ("prometheus_api_client", "connectors.metrics.prometheus_metrics")
    assert sorted(m for m in modules if m.startswith(client)) == []
