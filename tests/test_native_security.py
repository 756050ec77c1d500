"""Secure by default: the admin API on an owner-only Unix socket, state files only the owner can
read, a loopback stats listener that serves metrics and nothing else, and secrets (credential
header values, private JWK members, tokens) in no file or output the tool writes for people.

Real Envoy, real HTTP; another local user is the real ``nobody`` through ``runuser`` when the tests
run as root (skipped with the reason otherwise; under CI=true a failing runuser fails).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.http_client import http_client
from connectors.native import NativeConnector
from connectors.paths import state_dir
from tests.native_support import DemoBackends, JwtSigner, start_native_gateway, write_native_config


def _tcp_listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on (from /proc: its socket inodes in LISTEN state)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if not p.is_symlink()]


def test_admin_is_an_owner_only_unix_socket_and_no_tcp_port(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    assert gw.admin_url.startswith("unix:")
    sock = Path(gw.admin_url.removeprefix("unix:"))
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert gw.pid is not None
    listener_ports = {int(u.rsplit(":", 1)[1]) for u in gw._state.listeners.values()}
    # Envoy listens on TCP for the gateway's listeners and the loopback stats listener, nothing else.
    assert _tcp_listening_ports(gw.pid) == listener_ports | {gw.stats_port}
    assert gw.admin.ready()


def test_the_stats_listener_serves_prometheus_metrics_and_nothing_else(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    base = f"http://127.0.0.1:{gw.stats_port}"
    with http_client(timeout=5) as c:
        metrics = c.get(base + "/stats/prometheus")
        assert metrics.status_code == 200 and "envoy_server_live" in metrics.text
        for method, path in [("POST", "/quitquitquit"), ("GET", "/config_dump"), ("POST", "/logging")]:
            assert c.request(method, base + path).status_code == 404, path
        assert c.post(base + "/stats/prometheus").status_code == 404
    assert gw.is_running()


def test_state_folders_are_0700_and_files_0600(native_gateway: NativeConnector, tmp_path: Path) -> None:
    gw = native_gateway
    route = gw.get_route("canary")
    from connectors.change import Change
    from connectors.model.edits import set_weights

    change = Change(gw)
    change.apply(change.plan_edit("weights", route, set_weights(route, {"v1": 50, "v2": 50})))
    change.apply(change.plan_undo())
    with http_client(base_url=gw.listener_url()) as c:
        c.get("/", headers={"host": "canary.test"})  # something in the access log
    root = state_dir()
    loose = []
    for path in [root, *_files(root)]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if (path.is_dir() and mode != 0o700) or (path.is_file() and mode & 0o077):
            loose.append(f"{path.relative_to(root.parent)} {mode:o}")
    assert loose == []
    assert (gw.state_dir / "access.log").exists() and (root / "audit.jsonl").exists()


NOBODY_SCRIPT = r"""
import json, os, socket, sys
out = {}
for path in sys.argv[2:]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        out[path] = "read"
    except PermissionError:
        out[path] = "denied"
    except OSError as exc:
        out[path] = type(exc).__name__
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    s.sendall(b"GET /ready HTTP/1.0\r\n\r\n")
    out["admin"] = "reached: " + s.recv(100).decode(errors="replace")
except OSError as exc:
    out["admin"] = type(exc).__name__
print(json.dumps(out))
"""


def _python_for_anyone() -> str:
    """A Python interpreter another user may run (the project's venv may sit in root's folders)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


@pytest.fixture
def world_traversable_root() -> Iterator[Path]:
    """A folder any user may enter (0755), so only the tool's own modes stand between ``nobody`` and
    the state inside it (pytest's tmp_path is already 0700, which would hide everything)."""
    root = Path(tempfile.mkdtemp(prefix="gw-sec-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_another_local_user_can_neither_reach_the_admin_nor_read_state(
    world_traversable_root: Path,
    backends: DemoBackends,
    jwt_signer: JwtSigner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runuser = shutil.which("runuser")
    if os.geteuid() != 0 or runuser is None:
        pytest.skip("needs root and runuser to act as another local user (nobody)")
    root = world_traversable_root
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
    config = write_native_config(root / "config", backends, jwt_signer)
    gw = start_native_gateway(config, root / "state")
    try:
        control = root / "control.txt"  # proves nobody's reads work at all
        control.write_text("public\n")
        control.chmod(0o644)
        from connectors.change import Change
        from connectors.model.edits import set_weights

        route = gw.get_route("canary")
        Change(gw).apply(Change(gw).plan_edit("weights", route, set_weights(route, {"v1": 60, "v2": 40})))
        targets = [str(control), *(str(p) for p in [root / "state", *_files(root / "state")])]
        sock = gw.admin_url.removeprefix("unix:")
        done = subprocess.run(
            [runuser, "-u", "nobody", "--", _python_for_anyone(), "-c", NOBODY_SCRIPT, sock, *targets],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            message = f"runuser failed: {done.stderr.strip()}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
        seen = json.loads(done.stdout)
        assert seen.pop(str(control)) == "read"
        assert seen.pop("admin") == "PermissionError"
        assert {p: r for p, r in seen.items() if r != "denied"} == {}
        assert gw.is_running(), "nobody could not stop it"
    finally:
        gw.close()
        gw.stop()


def test_a_state_folder_too_deep_for_a_socket_path_gets_a_private_runtime_socket(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    config = write_native_config(tmp_path / "config", backends, jwt_signer)
    gw = NativeConnector.start(config, deep, owned=True)
    try:
        sock = Path(gw.admin_url.removeprefix("unix:"))
        assert len(str(sock)) <= 100 and not sock.is_relative_to(deep)
        assert sock.parent == Path(f"/tmp/gatewayctl-tui-{os.getuid()}")
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        assert json.loads((deep / "state.json").read_text())["admin_socket"] == str(sock)
        assert gw.admin.ready() and gw.health() is None
    finally:
        gw.close()
        gw.stop()
