"""The Envoy process behind a native gateway: crashes are reported, restart() brings back the last
applied config, another process can attach, owned Envoys die with their owner, stop() frees ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from connectors.change import Change
from connectors.errors import GatewayNotRunning, ProcessStartFailed
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.native.process import pid_alive, port_problem
from connectors.registry import discover_targets, open_target
from tests.native_support import DemoBackends, JwtSigner, client, require_envoy, write_native_config
from tests.waiting import wait_until


def _backend(gw: NativeConnector, host: str) -> str:
    with client(gw) as c:
        return c.get("/", headers={"host": host}).headers["x-backend"]


def test_killed_envoy_is_reported_and_restart_serves_the_last_applied_change(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 0, "v2": 100})]))
    pid = gw.pid
    assert pid is not None and gw.health() is None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), 5, what=f"Envoy (pid {pid}) to exit")
    assert gw.health() == f"Envoy (pid {pid}) was killed by SIGKILL"
    assert not gw.is_running()
    with pytest.raises(GatewayNotRunning):
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 100, "v2": 0})]))

    old_admin = gw.admin_url
    gw.restart()
    assert gw.health() is None and gw.pid != pid
    assert gw.admin_url == old_admin  # same ports as before
    assert {_backend(gw, "canary.test") for _ in range(10)} == {"v2"}


def test_attach_from_another_connector_sees_and_changes_the_same_envoy(
    native_gateway: NativeConnector,
) -> None:
    other = NativeConnector.attach(native_gateway.state_dir)
    try:
        assert other.health() is None
        assert other.admin_url == native_gateway.admin_url
        assert [r.name for r in other.list_routes()] == [r.name for r in native_gateway.list_routes()]
        result = Change(other).apply(
            other.plan([set_weights(other.get_route("canary"), {"v1": 0, "v2": 100})])
        )
        assert result.verification.ok
        assert {_backend(native_gateway, "canary.test") for _ in range(10)} == {"v2"}
        # The first connector reads the saved file again and plans on top of the change.
        assert native_gateway.get_route("canary").backends[1].weight == 100
        assert [e.id for e in native_gateway.history()] == [result.entry.id]
    finally:
        other.close()
    assert native_gateway.health() is None  # closing an attached connector leaves Envoy running


def test_registry_lists_the_gateway_and_opens_it(native_gateway: NativeConnector) -> None:
    targets = [t for t in discover_targets() if t.location == str(native_gateway.state_dir)]
    assert [t.name for t in targets] == ["test-gw"]
    conn = open_target(targets[0], readonly=True)
    try:
        assert conn.health() is None and conn.readonly
        source = conn.metrics()  # the factory wired Envoy's admin endpoint as the metrics source
        assert source is not None and source.name == "envoy-admin"
        source.close()
    finally:
        conn.close()


def test_stop_frees_the_ports_and_a_second_start_is_refused_while_running(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    with pytest.raises(ProcessStartFailed, match="already running"):
        NativeConnector.start(gw.config_path, gw.state_dir, owned=True)
    pid = gw.pid
    listener = gw.listener_url().removeprefix("http://")
    host, port = listener.rsplit(":", 1)
    gw.stop()
    assert pid is not None and not pid_alive(pid)
    assert port_problem(host, int(port)) is None
    assert gw.health() == "Envoy is not running (stopped)"


def test_detached_envoy_outlives_its_starter_and_can_be_stopped_by_an_attached_connector(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    require_envoy()
    config = write_native_config(tmp_path, backends, jwt_signer)
    gw = NativeConnector.start(config, tmp_path / "state", owned=False)
    try:
        assert gw.pid is not None
        assert os.getsid(gw.pid) != os.getsid(0)  # its own session: the terminal closing won't kill it
        gw.close()
        assert pid_alive(gw.pid)
        later = NativeConnector.attach(tmp_path / "state")
        assert later.health() is None
        later.stop()
        wait_until(lambda: not pid_alive(gw.pid), 5, what=f"Envoy (pid {gw.pid}) to exit")
        assert later.health() == "Envoy is not running (stopped)"
        later.close()
    finally:
        gw.stop()


def test_owned_envoy_started_in_a_worker_thread_survives_the_thread(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    require_envoy()
    config = write_native_config(tmp_path, backends, jwt_signer)
    started: list[NativeConnector] = []
    worker = threading.Thread(
        target=lambda: started.append(NativeConnector.start(config, tmp_path / "state", owned=True))
    )
    worker.start()
    worker.join()
    gw = started[0]
    try:
        # PR_SET_PDEATHSIG (SIGKILL) fires as the forking thread exits: once the kernel has let it go.
        wait_until(
            lambda: not Path(f"/proc/self/task/{worker.native_id}").exists(), what="the thread to exit"
        )
        assert gw.health() is None
        assert _backend(gw, "v1.test") == "v1"
    finally:
        gw.close()
    assert gw.pid is None or not pid_alive(gw.pid)


def test_owned_envoy_dies_with_the_process_that_started_it(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    require_envoy()
    config = write_native_config(tmp_path, backends, jwt_signer)
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from connectors.native import NativeConnector
        gw = NativeConnector.start(Path({str(config)!r}), Path({str(tmp_path / "state")!r}), owned=True)
        print(gw.pid, flush=True)
        time.sleep(60)
        """
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "GATEWAYCTL_STATE_DIR": str(tmp_path / "xdg")}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=root, env=env, text=True
    ) as owner:
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())
        assert pid_alive(pid)
        owner.kill()
        owner.wait()
    wait_until(lambda: not pid_alive(pid), 5, what="Envoy to go with the process that owned it")
