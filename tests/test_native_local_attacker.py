"""A local user who cannot reach the admin socket tries the files around it: a state folder they
own or may write in, planted pid files, logs swapped for symlinks, modes loosened by hand, and
names long enough to choke the file system. Each is refused with one line (or tightened back),
and no other user's process is ever trusted or signalled.

Real Envoy, real files and processes; another local user is ``nobody`` through ``runuser`` when
the tests run as root (skipped with the reason otherwise).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.change import Change
from connectors.errors import ProcessStartFailed
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.native.process import port_problem
from connectors.native.reverter import MODULE as REVERTER
from connectors.native.reverter import PID_FILE, stop_detached
from connectors.native.supervision import ENTRY as SUPERVISOR
from connectors.native.supervision import supervisor_alive
from connectors.paths import state_dir
from tests.native_support import DemoBackends, JwtSigner, write_native_config
from tests.waiting import wait_until
from tui.cli import main


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out + err


def _up(capsys: pytest.CaptureFixture[str], folder: Path, config: Path) -> tuple[int, str]:
    """``up --state-dir folder``; a gateway it started anyway (the defect) is stopped again."""
    rc, text = _cli(capsys, "up", "--state-dir", str(folder), str(config))
    if rc == 0:
        main(["down", str(folder)])
    return rc, text


@pytest.fixture
def config(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config-dir"))
    return write_native_config(tmp_path / "config", backends, jwt_signer)


def _as_nobody() -> str:
    runuser = shutil.which("runuser")
    if os.geteuid() != 0 or runuser is None:
        pytest.skip("needs root and runuser to act as another local user (nobody)")
    return runuser


def _nobodys_sleeper(marker: bytes) -> int | None:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid != 0 and marker in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
        except OSError:
            continue
    return None


@pytest.fixture
def nobodys_process() -> Iterator[int]:
    """A process of ``nobody`` whose command line names the tool's reverter and supervisor."""
    runuser = _as_nobody()
    python = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)
    if python is None:
        pytest.skip("no Python interpreter that nobody may run")
    marker = f"time.sleep(120.{os.getpid()})"
    cmd = [runuser, "-u", "nobody", "--", python, "-c", f"import time; {marker}", REVERTER, SUPERVISOR]
    proc = subprocess.Popen(cmd)
    try:
        yield wait_until(lambda: _nobodys_sleeper(marker.encode()), timeout=10, what="nobody's process")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_5000_character_gateway_name_is_refused_in_one_short_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "a" * 5000
    for args in (["routes", "--gateway", name], ["up", "--name", name, str(config)], ["down", name]):
        rc, text = _cli(capsys, *args)
        assert rc != 0 and len(text.strip().splitlines()) == 1, (args[0], text[:200])
        assert len(text) < 300 and "File name too long" not in text, (args[0], text[:200])
    rc, text = _cli(capsys, "up", "--state-dir", str(config.parent / name), str(config))
    assert rc != 0 and len(text) < 300


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o1777])
def test_up_refuses_a_state_folder_others_may_write_in(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    rc, text = _up(capsys, folder, config)
    assert rc == 1 and text.count("\n") == 1, text
    assert str(folder) in text and "writable by other users" in text
    assert list(folder.iterdir()) == []  # nothing started, nothing written


def test_up_refuses_a_state_folder_of_another_user(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _as_nobody()
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    shutil.chown(folder, "nobody")
    rc, text = _up(capsys, folder, config)
    assert rc == 1 and str(folder) in text and "belongs to another user" in text, text


def test_a_planted_pid_of_another_user_is_neither_trusted_nor_signalled(
    tmp_path: Path, nobodys_process: int
) -> None:
    assert not supervisor_alive(nobodys_process)  # its command line fits, its owner does not
    (tmp_path / PID_FILE).write_text(f"{nobodys_process}\n")
    stop_detached(tmp_path)
    assert Path(f"/proc/{nobodys_process}").exists(), "the tool signalled another user's process"


def test_history_and_audit_swapped_for_symlinks_are_not_written_through(
    native_gateway: NativeConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = native_gateway
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    for log in (gw.state_dir / "history.jsonl", state_dir() / "audit.jsonl"):
        log.unlink(missing_ok=True)
        log.symlink_to(victim)
        rc, text = _cli(capsys, "set-weights", "canary", "v1=70", "v2=30", "--gateway", str(gw.state_dir))
        assert rc == 1 and f"{log} is a symlink" in text, text
        assert victim.read_text() == "mine\n"
        log.unlink()


def test_loosened_state_files_and_folders_are_tightened_on_attach(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    route = gw.get_route("canary")
    change = Change(gw)
    change.apply(change.plan_edit("weights", route, set_weights(route, {"v1": 60, "v2": 40})))
    loosened = [gw.state_dir / "history.jsonl", *gw.layout.xds_dir.glob("*.json")]
    for path in loosened:
        path.chmod(0o644)
    gw.layout.xds_dir.chmod(0o755)
    gw.state_dir.chmod(0o755)
    NativeConnector.attach(gw.state_dir).close()
    loose = [
        f"{p} {stat.S_IMODE(p.stat().st_mode):o}"
        for p in [gw.state_dir, gw.layout.xds_dir, *loosened]
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert loose == []


def _cli_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process (``up`` leaves detached children that outlive a test's process)."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_up_warns_about_a_yaml_others_can_read_and_edits_write_it_0600(config: Path, tmp_path: Path) -> None:
    config.chmod(0o644)
    folder = tmp_path / "state" / "gateways" / "mine"
    up = _cli_process("up", "--state-dir", str(folder), str(config))
    try:
        assert up.returncode == 0, up.stderr
        warned = [line for line in (up.stdout + up.stderr).splitlines() if "readable by other users" in line]
        assert len(warned) == 1 and str(config) in warned[0] and "chmod 600" in warned[0]
        edit = _cli_process("set-weights", "canary", "v1=70", "v2=30", "--gateway", str(folder))
        assert edit.returncode == 0, edit.stderr
        assert stat.S_IMODE(config.stat().st_mode) == 0o600  # rewritten with its secrets: the owner's only
    finally:
        _cli_process("down", str(folder))


def test_a_port_taken_while_envoy_restarts_is_named_as_such_not_as_a_rejected_config(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    address = gw._state.listeners["main"]
    host, _, port = address.rpartition(":")
    proc = gw.process
    assert proc is not None
    proc.kill()  # Envoy dies; before it is started again, a local process takes its port
    proc.wait(timeout=10)
    wait_until(lambda: port_problem(host, int(port)) is None, timeout=10, what="the port to be free")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((host, int(port)))
        squatter.listen()
        with pytest.raises(ProcessStartFailed) as failed:
            gw.relaunch()
    message = str(failed.value)
    assert f"listener port {address} is held by another process (pid {os.getpid()}," in message
    assert "rejected its config" not in message
