"""A gateway that looks after itself: ``up`` runs Envoy under the tool's supervisor.

Real ``up``/``down``/``gateways`` processes, a real Envoy killed with SIGKILL: it comes back within
seconds, ``gateways`` and the supervisor's log say why, an open connector follows the new process,
``--readonly down`` is refused, and a broken YAML or a dead supervisor each get their own status.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.http_client import http_client
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, JwtSigner, require_envoy, write_native_config
from tests.test_cli import cli_process
from tests.waiting import wait_until


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


class Up:
    """A gateway started with ``gatewayctl-tui up`` in its own state folder."""

    def __init__(self, root: Path, config: Path, name: str) -> None:
        self.env = {"GATEWAYCTL_STATE_DIR": str(root / "state")}
        self.name = name
        self.state_dir = root / "state" / "gateways" / name
        self.config = config

    def cli(self, *args: str) -> Any:
        return cli_process(*args, env=self.env)

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "state.json").read_text())
        return data

    def supervision(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "supervisor.json").read_text())
        return data

    def listed(self) -> dict[str, Any]:
        done = self.cli("gateways", "-o", "json")
        assert done.returncode == 0, done.stderr
        return next(g for g in json.loads(done.stdout) if g["name"] == self.name)

    def listed_if(self, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The gateway's ``gateways -o json`` entry when ``condition`` holds for it (for wait_until)."""
        listed = self.listed()
        return listed if condition(listed) else None

    def kill_all(self) -> None:
        """Never leave a detached supervisor or Envoy behind."""
        for path, key in (("supervisor.json", "pid"), ("state.json", "pid")):
            with contextlib.suppress(OSError, ValueError, ProcessLookupError, TypeError):
                os.kill(int(json.loads((self.state_dir / path).read_text())[key]), signal.SIGKILL)


@pytest.fixture
def up(tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner) -> Iterator[Up]:
    require_envoy()
    config = write_native_config(tmp_path / "cfg", backends, jwt_signer, name="looked-after")
    gateway = Up(tmp_path, config, "sup")
    started = gateway.cli("up", str(config), "--name", "sup")
    try:
        assert started.returncode == 0, started.stderr
        yield gateway
    finally:
        gateway.kill_all()


def _served(listener: str) -> str:
    with http_client(base_url=listener, timeout=2) as client:
        return str(client.get("/", headers={"host": "v2.test"}).headers.get("x-backend", ""))


def test_envoy_killed_with_sigkill_comes_back_and_gateways_says_why(up: Up) -> None:
    first = up.state()["pid"]
    listener = "http://" + next(iter(up.state()["listeners"].values()))
    assert up.listed()["status"] == "running" and _served(listener) == "v2"
    attached = NativeConnector.attach(up.state_dir)  # as an open console holds it
    try:
        os.kill(first, signal.SIGKILL)
        started = time.monotonic()
        back = wait_until(
            lambda: (g := up.listed())["state"] == "running" and g["restarts"] == 1 and g,
            15,
            what="the supervisor to restart Envoy",
        )
        assert time.monotonic() - started < 10
        assert f"restarted after: Envoy (pid {first}) was killed by SIGKILL" == back["reason"]
        assert up.state()["pid"] != first and _alive(up.state()["pid"])
        assert _served(listener) == "v2"
        log = (up.state_dir / "supervisor.log").read_text()
        assert f"Envoy (pid {first}) was killed by SIGKILL; restarting in" in log
        assert "Envoy restarted (pid" in log
        # The open connector follows the new Envoy by itself.
        assert attached.health() is None and attached.pid == up.state()["pid"]
        assert attached.get_route("canary").name == "canary"
    finally:
        attached.close()


def test_down_is_refused_read_only_then_stops_supervisor_and_envoy(up: Up) -> None:
    envoy, supervisor = up.state()["pid"], up.supervision()["pid"]
    refused = up.cli("--readonly", "down", "sup")
    assert refused.returncode == 1 and "read-only" in refused.stderr, refused
    assert len(refused.stderr.strip().splitlines()) == 1
    assert _alive(envoy) and _alive(supervisor) and up.listed()["state"] == "running"
    assert up.cli("gateways", "sup").returncode == 0

    down = up.cli("down", "sup")
    assert down.returncode == 0 and "stopped" in down.stdout, down
    assert not _alive(envoy) and not _alive(supervisor)
    listed = up.listed()
    assert listed["state"] == "stopped" and "down" in listed["status"], listed
    assert up.cli("gateways", "sup").returncode == 1  # a script notices


def test_a_broken_yaml_is_its_own_status_while_envoy_serves(up: Up) -> None:
    listener = "http://" + next(iter(up.state()["listeners"].values()))
    good = up.config.read_text()
    up.config.write_text(good.replace("listeners:", "listeners: [", 1))
    try:
        listed = up.listed()
        assert listed["state"] == "config broken", listed
        assert (
            str(up.config) in listed["reason"] and "Envoy serves the last applied config" in listed["reason"]
        )
        assert _served(listener) == "v2"
        assert up.cli("gateways", "sup").returncode == 1
    finally:
        up.config.write_text(good)
    assert up.listed()["state"] == "running"


def test_a_killed_supervisor_takes_its_envoy_with_it_and_says_so(up: Up) -> None:
    envoy, supervisor = up.state()["pid"], up.supervision()["pid"]
    os.kill(supervisor, signal.SIGKILL)
    wait_until(lambda: not _alive(envoy), 10, what="Envoy to die with its supervisor")
    listed = up.listed()
    assert listed["state"] == "stopped" and f"supervisor (pid {supervisor}) is gone" in listed["reason"]


def test_up_that_cannot_start_says_why_and_leaves_nothing_running(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    require_envoy()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_native_config(tmp_path / "cfg", backends, jwt_signer, port=port)
        gateway = Up(tmp_path, config, "clash")
        try:
            failed = gateway.cli("up", str(config), "--name", "clash")
            assert failed.returncode == 1, failed
            assert failed.stderr.startswith("error: ") and f"port {port}" in failed.stderr
            assert len(failed.stderr.strip().splitlines()) == 1
            supervisor = gateway.supervision()["pid"]
            wait_until(lambda: not _alive(supervisor), 5, what="the supervisor to exit")
        finally:
            gateway.kill_all()


async def test_an_open_console_follows_the_restarted_envoy(up: Up) -> None:
    from connectors.native.factory import attach
    from tests.test_tui_stories import SIZE, open_console
    from tests.waiting import wait_until_ui as ui_wait_until
    from tui.app import ConsoleApp

    connector = attach(up.state_dir)
    first = up.state()["pid"]
    app = ConsoleApp(connector)
    async with app.run_test(size=SIZE) as pilot:
        await open_console(pilot)
        os.kill(first, signal.SIGKILL)
        await ui_wait_until(pilot, lambda: up.supervision()["restarts"] == 1, 15)
        new = up.state()["pid"]
        # Connected to the new process: its pid in the connector, live figures flowing again.
        await ui_wait_until(pilot, lambda: app.connection.status == "connected" and connector.pid == new, 15)
        await ui_wait_until(pilot, lambda: connector.info().details.get("pid") == str(new), 5)
    connector.close()


def test_routes_of_a_stopped_gateway_print_the_config_but_exit_1(up: Up) -> None:
    assert up.cli("down", "sup").returncode == 0
    routes = up.cli("routes", "-o", "json", "--gateway", "sup")
    assert routes.returncode == 1 and "canary" in routes.stdout
    assert "warning: the gateway is not serving this" in routes.stderr
    describe = up.cli("describe", "canary", "--gateway", "sup")
    assert describe.returncode == 1 and "Route:     canary" in describe.stdout


def _bound(sock: socket.socket, host: str, port: int) -> bool:
    try:
        sock.bind((host, port))
    except OSError:
        return False
    return True


def test_a_restart_that_fails_is_retried_with_backoff_and_says_why(up: Up) -> None:
    first = up.state()["pid"]
    address = next(iter(up.state()["listeners"].values()))
    host, port = address.rsplit(":", 1)
    supervisor = up.supervision()["pid"]
    squatter = socket.socket()
    try:
        # The supervisor restarts Envoy 0.5 s after it dies: stopped meanwhile, it cannot win the race
        # for the port on a busy machine before the squatter has it.
        os.kill(supervisor, signal.SIGSTOP)
        try:
            os.kill(first, signal.SIGKILL)
            wait_until(lambda: not _alive(first), 5, what="Envoy to die")
            # Its first thread is a zombie before the others have closed the listener: bind once free.
            wait_until(lambda: _bound(squatter, host, int(port)), 5, what=f"Envoy's port {port} to be free")
            squatter.listen()  # the port Envoy must come back on is taken meanwhile
        finally:
            os.kill(supervisor, signal.SIGCONT)
        failing = wait_until(lambda: up.listed_if(lambda g: "restart failed" in g["reason"]), 15)
        assert failing["state"] == "restarting"
        assert f"Envoy (pid {first}) was killed by SIGKILL" in failing["reason"]
        assert up.cli("gateways", "sup").returncode == 1
    finally:
        squatter.close()
    back = wait_until(lambda: up.listed_if(lambda g: g["state"] == "running"), 20)
    assert back["restarts"] == 1 and _served("http://" + address) == "v2"
    assert "restart failed" in (up.state_dir / "supervisor.log").read_text()
