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
from ..errors import GatewayError, NotFound, ProcessStartFailed
from ..history import HistoryStore
from ..model import Gateway, Route
from ..paths import gateways_dir
from . import xds
from .admin import AdminClient
from .config_file import ConfigFile
from .deploy import Deployer
from .process import (
    check_ports_free,
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
        self.admin = AdminClient(state.admin_url or "http://127.0.0.1:1")
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
        admin_port: int = 0,
        owned: bool = False,
        access_log_headers: Sequence[str] = (),
        concurrency: int | None = None,
    ) -> Self:
        """Validate the YAML, render Envoy's files, launch Envoy and wait until it serves.
        ``concurrency``: Envoy worker threads (default: one per core)."""
        config = Path(config).expanduser().resolve()
        cf = ConfigFile.load(config)
        validate(cf.gateway)
        state_dir = Path(state_dir) if state_dir is not None else gateways_dir() / cf.gateway.name
        state_dir.mkdir(parents=True, exist_ok=True)
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
            admin_port=admin_port,
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
        state = GatewayState.read(state_dir)
        cf = ConfigFile.load(Path(state.config))
        return cls(state_dir, state, cf, readonly=readonly)

    def _boot(self) -> None:
        """Write every file from the YAML and launch Envoy on the state's ports."""
        gw = self._config.gateway
        check_ports_free(gw.listeners)
        if self._state.admin_port and port_problem("127.0.0.1", self._state.admin_port):
            raise ProcessStartFailed(f"admin port {self._state.admin_port} is taken")
        if not self._state.probe_token:
            self._state.probe_token = secrets.token_hex(16)
        self._deploy.write_all(gw)
        xds.atomic_write(
            self.layout.bootstrap, json.dumps(bootstrap(gw, self.layout, self._state.admin_port), indent=1)
        )
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
            self._wait_started(proc, address_file, log_offset)
        except BaseException:
            terminate(proc.pid, proc, grace=2)
            self._proc = None
            raise
        self._served = gw
        self._state.pid = proc.pid
        self._state.started = time.time()
        self._state.listeners = {x.name: f"{x.address}:{x.port}" for x in gw.listeners}
        self._state.write(self.state_dir)

    def _wait_started(self, proc: subprocess.Popen[bytes], address_file: Path, log_offset: int) -> None:
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
                raise failed(f"Envoy did not open its admin port within {timeout:g}s")
            time.sleep(0.005)
        host_port = address_file.read_text().strip()
        self._state.admin_port = int(host_port.rsplit(":", 1)[1])
        self._state.admin_url = f"http://{host_port}"
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
        if rejected:
            raise failed(f"Envoy rejected the config written from {self.config_path}: {rejected}")
        bound = self._bound_listeners()
        missing = [x for x in self._config.gateway.listeners if f"{x.address}:{x.port}" not in bound]
        if missing:
            raise failed(
                "listener(s) not bound: " + ", ".join(f"{x.name} ({x.address}:{x.port})" for x in missing)
            )

    def _bound_listeners(self) -> set[str]:
        try:
            response = self.admin._get("/listeners", {"format": "json"})
            data = response.json()
        except (GatewayError, ValueError):
            return set()
        out = set()
        for item in data.get("listener_statuses", []):
            sock = item.get("local_address", {}).get("socket_address", {})
            out.add(f"{sock.get('address')}:{sock.get('port_value')}")
        return out

    def stop(self) -> None:
        """Stop Envoy (SIGTERM, SIGKILL after a grace period); the state directory stays."""
        with self._mutex:
            pid = self._state.pid or (self._proc.pid if self._proc else None)
            if pid:
                terminate(pid, self._proc)
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
    def access_log_path(self) -> Path:
        return Path(self._state.access_log)

    @property
    def pid(self) -> int | None:
        return self._state.pid

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

    def _exit_reason(self, wait: float = 0.0) -> str | None:
        proc = self._proc
        if proc is not None:
            code = proc.poll()
            if code is None and (wait or not pid_alive(proc.pid)):
                # Exiting (its /proc entry is already empty) but not yet reaped.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = proc.wait(wait or 1.0)
            return describe_exit(proc.pid, code) if code is not None else None
        if not pid_alive(self._state.pid):
            if self._state.pid:
                return f"Envoy (pid {self._state.pid}) is not running (it exited or was killed)"
            return "Envoy is not running (stopped)"
        return None


__all__ = ["START_TIMEOUT", "EnvoyLifecycle"]
