"""What the command line says about a native gateway's state when it is not the happy path: Envoy
dead, output piped into ``head``, a change that changes nothing, a YAML that no longer parses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.native import NativeConnector
from tests.crash_support import served
from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gw(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield native_gateway


def run(gw: NativeConnector, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_routes_and_describe_with_envoy_dead_say_so_and_exit_non_zero(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    gw.stop()
    rc, out, err = run(gw, "routes", capsys=capsys)
    assert rc == 1
    assert "canary" in out  # the config is still shown
    assert "not serving" in err and "not running" in err
    rc, out, err = run(gw, "describe", "canary", capsys=capsys)
    assert rc == 1 and "Route:     canary" in out and "not serving" in err


def test_a_change_piped_into_head_applies_and_exits_quietly(gw: NativeConnector) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "set-weights",
            "canary",
            "v1=30",
            "v2=70",
            "--gateway",
            str(gw.state_dir),
        ],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # `| head -1`: read one line, then go away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0, err
    assert first.startswith(b"Plan: canary")
    assert "Broken pipe" not in err and "error" not in err
    assert served(gw.state_dir)["canary"]["weights"] == {"canary~v1": 30, "canary~v2": 70}
    assert gw.history()[-1].description.startswith("canary: weights")


def test_a_no_op_says_no_change_not_gateway_settings(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(gw, "set-weights", "canary", "v1=90", "v2=10", capsys=capsys)
    assert rc == 0
    assert "gateway settings changed" not in out
    assert "No change" in out


def test_with_a_broken_yaml_gateways_says_so_and_history_still_reads(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(gw, "set-weights", "canary", "v1=80", "v2=20", capsys=capsys)[0] == 0
    gw.config_path.write_text(gw.config_path.read_text() + "\n  broken: [\n")
    rc, out, err = run(gw, "gateways", "-o", "json", capsys=capsys)
    assert rc == 0, err
    (found,) = json.loads(out)
    assert found["status"].startswith("config broken") and "Envoy serves" in found["reason"]
    rc, out, err = run(gw, "history", capsys=capsys)
    assert rc == 0, err
    assert "canary: weights" in out
    rc, out, err = run(gw, "routes", capsys=capsys)
    assert rc == 1 and "Invalid YAML" in err and "line" in err
