"""The Envoy process of a native gateway: start, attach, stop, restart, health, and where it serves.

``EnvoyLifecycle`` is the base of ``NativeConnector`` (``connector.py``), which adds reading the
model and planning and applying changes. Starting writes every Envoy file from the YAML
(``Deployer.write_all``), launches Envoy (``process.launch``) and waits until it is ready, has
loaded the files and bound every listener; any failure stops it again and says why.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from ..audit import AuditLog
from ..base import Connector
from ..errors import GatewayError, NotFound, ProcessStartFailed, UnsafeState
from ..history import HistoryStore
from ..model import Gateway, Route
from ..paths import gateways_dir, log_problem, private_dir, state_folder_problem, tighten
from . import xds
from .admin import AdminClient
from .admin_socket import STATS_LISTENER, admin_url, socket_path, stats_url
from .config_file import ConfigFile
from .deploy import Deployer
from .port_holder import check_ports_free, held_ports
from .process import (
    describe_exit,
    find_envoy,
    launch,
    log_tail,
    pid_alive,
    port_problem,
    terminate,
)
from .render import Layout, bootstrap
from .render_listener import log_headers
from .state import ApplyLock, GatewayState
from .validation import validate

START_TIMEOUT = 20.0


class EnvoyLifecycle(Connector):
    """A connector whose gateway is an Envoy this tool runs (the process half of ``NativeConnector``)."""

    kind = "native"

    def __init__(
        self,
        state_dir: Path,
        state: GatewayState,
        config: ConfigFile,
        *,
        readonly: bool = False,
        proc: subprocess.Popen[bytes] | None = None,
    ) -> None:
        super().__init__(
            readonly=readonly, history=HistoryStore(state_dir / "history.jsonl"), audit=AuditLog()
        )
        self.state_dir = state_dir
        self._state = state
        self._config = config
        self._proc = proc
        self._mutex = threading.RLock()
        self._lock = ApplyLock(state_dir / "apply.lock")
        self.layout = Layout(state_dir / "xds")
        self.log_path = state_dir / "envoy.log"
        self.admin = AdminClient(state.admin_url or admin_url(state_dir / "admin.sock"))
        self._deploy = Deployer(self.layout, xds.Pusher(self.admin, self.log_path), state, state_dir)
        # The model whose Envoy files are on disk and serving, when this process knows it (after
        # it started Envoy or applied a change): then an apply renders only what it changes.
        self._served: Gateway | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        config: Path,
        state_dir: Path | None = None,
        *,
        readonly: bool = False,
        envoy_path: str | None = None,
        stats_port: int = 0,
        owned: bool = False,
        access_log_headers: Sequence[str] = (),
        concurrency: int | None = None,
    ) -> Self:
        """Validate the YAML, render Envoy's files, launch Envoy and wait until it serves.
        ``stats_port``: the loopback port of the Prometheus stats listener (0: any free one; the
        admin API itself is on a Unix socket). ``concurrency``: Envoy worker threads (default: one
        per core)."""
        config = Path(config).expanduser().resolve()
        cf = ConfigFile.load(config)
        validate(cf.gateway)
        state_dir = Path(state_dir) if state_dir is not None else gateways_dir() / cf.gateway.name
        if problem := state_folder_problem(state_dir):
            raise UnsafeState(f"state folder {problem}")
        if state_dir.parent == gateways_dir():
            private_dir(gateways_dir().parent)  # the tool's state root: nobody else lists it
        private_dir(state_dir)
        try:
            previous: GatewayState | None = GatewayState.read(state_dir)
        except NotFound:
            previous = None
        if previous is not None and pid_alive(previous.pid):
            raise ProcessStartFailed(
                f"gateway {previous.name!r} is already running from {state_dir} (pid {previous.pid}); "
                "attach to it or stop it first"
            )
        state = GatewayState(
            name=cf.gateway.name,
            config=str(config),
            stats_port=stats_port,
            access_log=str(state_dir / "access.log"),
            access_log_headers=log_headers(access_log_headers),
            envoy=find_envoy(envoy_path),
            owned=owned,
            xds_version=previous.xds_version if previous is not None else 0,
            concurrency=concurrency or 0,
        )
        conn = cls(state_dir, state, cf, readonly=readonly)
        conn._boot()
        return conn

    @classmethod
    def attach(cls, state_dir: Path, *, readonly: bool = False) -> Self:
        """A connector for a gateway started earlier (maybe by another process)."""
        state_dir = Path(state_dir)
        if problem := state_folder_problem(state_dir):
            raise UnsafeState(f"state folder {problem}")
        if problem := log_problem(state_dir / "history.jsonl", AuditLog().path):
            raise UnsafeState(problem)
        tighten(state_dir)  # files someone loosened (chmod 644) are the owner's only again
        state = GatewayState.read(state_dir)
        cf = ConfigFile.load(Path(state.config))
        return cls(state_dir, state, cf, readonly=readonly)

    def _boot(self) -> None:
        """Write every file from the YAML and launch Envoy on the state's ports."""
        gw = self._config.gateway
        check_ports_free(gw.listeners)
        if self._state.stats_port and port_problem("127.0.0.1", self._state.stats_port):
            raise ProcessStartFailed(f"stats port {self._state.stats_port} is taken")
        if not self._state.probe_token:
            self._state.probe_token = secrets.token_hex(16)
        private_dir(self.state_dir)
        tighten(self.state_dir)
        sock = socket_path(self.state_dir)
        self._state.admin_socket = str(sock)
        self._deploy.write_all(gw)
        self._write_bootstrap(gw)
        self._launch({x.name: f"{x.address}:{x.port}" for x in gw.listeners})
        self._served = gw
        # The stats port Envoy picked is pinned from now on: a restart serves metrics on the same port.
        self._write_bootstrap(gw)

    def _write_bootstrap(self, gw: Gateway) -> None:
        sock = Path(self._state.admin_socket)
        text = json.dumps(bootstrap(gw, self.layout, sock, self._state.stats_port), indent=1)
        xds.atomic_write(self.layout.bootstrap, text)

    def relaunch(self) -> None:
        """Start Envoy again from the files it served (bootstrap and xDS as they are on disk, not
        re-rendered from the YAML: a hand edit is never deployed unseen) on the same ports."""
        with self._mutex, self._lock.hold():
            if self._proc is not None and self._proc.poll() is None:
                raise ProcessStartFailed(f"Envoy (pid {self._proc.pid}) is still running")
            self._proc = None
            self._served = None  # this process no longer knows what the new Envoy loaded
            self._launch(dict(self._state.listeners))

    def _launch(self, listeners: dict[str, str]) -> None:
        """Launch Envoy on the bootstrap on disk and wait until it serves ``listeners`` (name ->
        address:port); then record it in ``state.json``."""
        sock = Path(self._state.admin_socket)
        sock.unlink(missing_ok=True)  # a dead Envoy's socket (nobody runs here: checked by start)
        address_file = self.state_dir / "admin.address"
        address_file.unlink(missing_ok=True)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        proc = launch(
            self._state.envoy or find_envoy(),
            self.layout.bootstrap,
            self.log_path,
            address_file,
            owned=self._state.owned,
            concurrency=self._state.concurrency or None,
        )
        self._proc = proc
        try:
            self._wait_started(proc, address_file, log_offset, listeners)
        except BaseException:
            terminate(proc.pid, proc, grace=2)
            self._proc = None
            raise
        self._state.pid = proc.pid
        self._state.started = time.time()
        self._state.listeners = dict(listeners)
        self._state.write(self.state_dir)

    def _wait_started(
        self, proc: subprocess.Popen[bytes], address_file: Path, log_offset: int, listeners: dict[str, str]
    ) -> None:
        # Envoy loads ~2 clusters per route before it is ready: give big gateways longer.
        timeout = START_TIMEOUT + 0.01 * len(self._config.gateway.routes)
        deadline = time.monotonic() + timeout

        def failed(reason: str) -> ProcessStartFailed:
            tail = log_tail(self.log_path, 3, since=log_offset)
            return ProcessStartFailed(reason + (": " + " | ".join(tail) if tail else ""))

        while not address_file.exists() or not address_file.read_text().strip():
            if proc.poll() is not None:
                raise failed(describe_exit(proc.pid, proc.returncode))
            if time.monotonic() > deadline:
                raise failed(f"Envoy did not open its admin socket within {timeout:g}s")
            time.sleep(0.005)
        self._state.admin_url = admin_url(Path(self._state.admin_socket))
        self.admin.close()
        self.admin = AdminClient(self._state.admin_url)
        self._deploy.pusher = xds.Pusher(self.admin, self.log_path)
        while True:
            if proc.poll() is not None:
                raise failed(describe_exit(proc.pid, proc.returncode))
            try:
                if self.admin.ready():
                    break
            except GatewayError:
                pass
            if time.monotonic() > deadline:
                raise failed(f"Envoy was not ready within {timeout:g}s")
            time.sleep(0.005)
        # Envoy is ready even when a listener failed to bind or the files were rejected.
        rejected = xds.log_reason(self.log_path, log_offset)
        if rejected and (held := held_ports(listeners, ours=proc.pid)):
            # Not a config problem: another process took a port while Envoy was down (restart).
            raise ProcessStartFailed("; ".join(held) + "; Envoy could not bind it")
        if rejected:
            raise failed(f"Envoy rejected its config (written from {self.config_path}): {rejected}")
        bound = self._bound_listeners()
        stats = bound.get(STATS_LISTENER, "")
        if not stats:
            raise failed("the stats listener (/stats/prometheus on 127.0.0.1) is not bound")
        self._state.stats_port = int(stats.rsplit(":", 1)[1])
        self._state.stats_url = stats_url(self._state.stats_port)
        served = set(bound.values())
        missing = [f"{name} ({address})" for name, address in listeners.items() if address not in served]
        if missing:
            raise failed("listener(s) not bound: " + ", ".join(missing))

    def _bound_listeners(self) -> dict[str, str]:
        """Listener name -> the ``address:port`` Envoy bound for it."""
        try:
            response = self.admin._get("/listeners", {"format": "json"})
            data = response.json()
        except (GatewayError, ValueError):
            return {}
        out = {}
        for item in data.get("listener_statuses", []):
            sock = item.get("local_address", {}).get("socket_address", {})
            out[str(item.get("name"))] = f"{sock.get('address')}:{sock.get('port_value')}"
        return out

    def stop(self) -> None:
        """Stop Envoy (SIGTERM, SIGKILL after a grace period); the state directory stays."""
        with self._mutex:
            pid = self._state.pid or (self._proc.pid if self._proc else None)
            if pid:
                terminate(pid, self._proc)
                if self._state.admin_socket and not pid_alive(pid):
                    Path(self._state.admin_socket).unlink(missing_ok=True)  # nothing listens there now
            self._proc = None
            self._state.pid = None
            self._state.write(self.state_dir)

    def restart(self) -> None:
        """Start Envoy again from the saved YAML, on the same ports."""
        with self._mutex, self._lock.hold():
            if self.is_running():
                self.stop()
            elif self._proc is not None:
                self._proc.wait()
                self._proc = None
            self._config = ConfigFile.load(self.config_path)
            validate(self._config.gateway)
            self._boot()

    def is_running(self) -> bool:
        return self._exit_reason() is None

    def close(self) -> None:
        if self._state.owned and self._proc is not None:
            self.stop()
        self.admin.close()
        self._deploy.close()

    # -- where things are ---------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return Path(self._state.config)

    @property
    def admin_url(self) -> str:
        return self._state.admin_url

    @property
    def stats_port(self) -> int:
        return self._state.stats_port

    @property
    def stats_url(self) -> str:
        """Where Prometheus scrapes this Envoy: ``http://127.0.0.1:PORT/stats/prometheus``."""
        return self._state.stats_url

    @property
    def access_log_path(self) -> Path:
        return Path(self._state.access_log)

    @property
    def pid(self) -> int | None:
        return self._state.pid

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The Envoy process when this process started it (else None: attached)."""
        return self._proc

    def listener_url(self, name: str | None = None) -> str:
        """The URL of a listener as Envoy serves it (the first one when ``name`` is None)."""
        listeners = self._state.listeners or {
            x.name: f"{x.address}:{x.port}" for x in self._config.gateway.listeners
        }
        for lname, address in listeners.items():
            if name is None or lname == name:
                return f"http://{address}"
        raise NotFound(f"no listener named {name!r}")

    def traffic_url(self, route: Route) -> tuple[str, str] | None:
        """The route's listener URL and a Host header its virtual host answers to."""
        base = self.listener_url(route.listener)
        host = next((h for h in route.hosts if "*" not in h), None)
        if host is None:
            wildcard = next((h for h in route.hosts if h.startswith("*.")), None)
            host = f"www{wildcard[1:]}" if wildcard else base.removeprefix("http://")
        return base, host

    def health(self) -> str | None:
        exited = self._exit_reason()
        if exited is not None:
            return exited
        try:
            if not self.admin.ready():
                return "Envoy is running but not ready"
        except GatewayError as exc:
            # It may be dying right now: prefer how it ended over a connection error.
            return self._exit_reason(wait=0.5) or str(exc)
        return None

    def _adopt_restarted(self) -> bool:
        """When the Envoy this connector knew is gone: take on the one ``state.json`` names now (the
        supervisor restarted it, or ``up`` started it again), so an open console reconnects by
        itself. True when there is such a running Envoy."""
        try:
            now = GatewayState.read(self.state_dir)
        except NotFound:
            return False
        if now.pid == self._state.pid or not pid_alive(now.pid):
            return False
        if now.admin_url != self._state.admin_url:
            self.admin.close()
            self.admin = AdminClient(now.admin_url)
            self._deploy.pusher = xds.Pusher(self.admin, self.log_path)
        for name in GatewayState.__dataclass_fields__:  # in place: the deployer shares this object
            setattr(self._state, name, getattr(now, name))
        self._served = None  # the new Envoy loaded the files on disk, whatever this process knew
        return True

    def _exit_reason(self, wait: float = 0.0) -> str | None:
        proc = self._proc
        if proc is not None:
            code = proc.poll()
            if code is None and (wait or not pid_alive(proc.pid)):
                # Exiting (its /proc entry is already empty) but not yet reaped.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = proc.wait(wait or 1.0)
            return describe_exit(proc.pid, code) if code is not None else None
        if not pid_alive(self._state.pid) and not self._adopt_restarted():
            if self._state.pid:
                return f"Envoy (pid {self._state.pid}) is not running (it exited or was killed)"
            return "Envoy is not running (stopped)"
        return None


__all__ = ["START_TIMEOUT", "EnvoyLifecycle"]
