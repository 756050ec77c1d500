"""A negative duration after a duration flag is that flag's value, for every subcommand: ``--for
-5m`` says ``--for: must be a positive duration, got -5m`` (exit 2, nothing changed), as ``--for=-5m``
does — not argparse's "expected one argument" (a cold operator's report). On a real native Envoy."""

from __future__ import annotations

import pytest

from connectors.native import NativeConnector
from tui.cli import main


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["deny", "host-v1", "--client", "x-user-id=a", "--for", "-5m"], id="deny"),
        pytest.param(["deny", "host-v1", "--client", "x-user-id=a", "--for=-5m"], id="deny="),
        pytest.param(["set-weights", "canary", "v1=50", "v2=50", "--for", "-5m"], id="set-weights"),
        pytest.param(["set-weights", "canary", "v1=50", "v2=50", "--for", "-1.5h"], id="set-weights-1.5h"),
    ],
)
def test_negative_for_is_a_usage_error_naming_the_flag(
    shared_native_gateway: NativeConnector, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    gw = shared_native_gateway
    before = gw.config_path.read_bytes()
    history = len(gw.history())
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    value = args[-1].removeprefix("--for=")
    assert rc == 2 and out == "", (rc, out, err)
    assert f"--for: must be a positive duration, got {value}" in err and err.count("\n") == 1, err
    assert gw.config_path.read_bytes() == before and len(gw.history()) == history


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["bundle", "-o", "/nonexistent/b.tar.gz", "--since", "-5m"], "--since"),
        (["triage", "--window", "-5m"], "--window"),
        (["set-rate-limit", "limited", "--requests", "5", "--interval", "-1s"], "--interval"),
    ],
)
def test_other_duration_flags_take_a_negative_value_too(
    shared_native_gateway: NativeConnector, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    gw = shared_native_gateway
    before = gw.config_path.read_bytes()
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    err = capsys.readouterr().err
    assert rc == 2 and says in err and "expected one argument" not in err and err.count("\n") == 1, err
    assert gw.config_path.read_bytes() == before
