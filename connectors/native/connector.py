"""NativeConnector: a real Envoy this tool runs itself, configured by file-based xDS.

The YAML file is the source of truth. An apply validates the new model, renders Envoy's files,
pushes only those that change (clusters first, then listeners, then routes; clusters no longer
used are dropped last), waits for Envoy to accept each one — or puts the previous files back and
reports Envoy's reason — and only then saves the YAML (round-trip) and records history and audit.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..audit import AuditLog
from ..base import Connector, GatewayInfo, Plan, RouteChange, Verification
from ..errors import (
    ChangeConflict,
    ChangeRejected,
    GatewayError,
    GatewayNotRunning,
    NotFound,
    NothingToUndo,
    Problem,
    ProcessStartFailed,
    ValidationError,
)
from ..history import HistoryStore
from ..metrics_contract import MetricsHooks
from ..model import Gateway, Route, route_from_dict, route_to_dict
from ..model.diff import to_yaml
from ..paths import gateways_dir
from . import changes, verify, xds
from .admin import AdminClient
from .config_file import ConfigFile
from .deploy import Deployer
from .names import cluster_name
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
from .render import (
    Layout,
    bootstrap,
    version_of,
)
from .render_listener import log_headers
from .render_routes import cluster_backends
from .state import ApplyLock, GatewayState
from .validation import native_problems, validate, validate_change

START_TIMEOUT = 20.0


@dataclass(frozen=True)
class _Payload:
    """What a native plan applies: the whole new model and the routes it touches."""

    gateway: Gateway
    names: tuple[str, ...]


class NativeConnector(Connector):
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
    ) -> NativeConnector:
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
    def attach(cls, state_dir: Path, *, readonly: bool = False) -> NativeConnector:
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

    # -- reading --------------------------------------------------------------------------------

    def _current(self) -> ConfigFile:
        """The config file, re-read when someone changed it on disk."""
        with self._mutex:
            if self._config.changed_on_disk():
                self._config = ConfigFile.load(self.config_path)
            return self._config

    def gateway(self) -> Gateway:
        return self._current().gateway

    def info(self) -> GatewayInfo:
        details = {"config": self._state.config, "state": str(self.state_dir)}
        if self._state.pid:
            details["pid"] = str(self._state.pid)
        details["listeners"] = ", ".join(f"{k} {v}" for k, v in self._state.listeners.items())
        return GatewayInfo(self.kind, self._state.name, self._state.admin_url, details)

    def list_routes(self) -> list[Route]:
        return list(self.gateway().routes)

    def cluster_names(self) -> dict[str, tuple[str, str]]:
        """Envoy cluster name -> (route, backend), for per-route, per-backend stats."""
        return {
            cluster_name(r.name, b): (r.name, b) for r in self.gateway().routes for b in cluster_backends(r)
        }

    def native_objects(self, route: str) -> str:
        gw = self.gateway()
        r = gw.route(route)
        return to_yaml(changes.route_resources(r, {b.name: b for b in gw.backends}))

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

    def metrics_hooks(self) -> MetricsHooks:
        return MetricsHooks(
            admin_url=lambda: self.admin_url,
            cluster_names=self.cluster_names,
            access_log_path=self.access_log_path,
        )

    # -- changing -------------------------------------------------------------------------------

    def plan(self, routes: Sequence[Route]) -> Plan:
        """Replace the routes of the same names (a route not in the gateway is added at the end)."""
        cf = self._current()
        gw = cf.gateway
        given = {r.name: r for r in routes}
        existing = {r.name for r in gw.routes}
        new_routes = [given.get(r.name, r) for r in gw.routes]
        new_routes += [r for r in routes if r.name not in existing]
        return self._plan(cf, replace(gw, routes=tuple(new_routes)))

    def plan_gateway(self, gateway: Gateway) -> Plan:
        """Plan a whole-config change (routes added or removed, backends, listeners)."""
        return self._plan(self._current(), gateway)

    def _plan(self, cf: ConfigFile, new: Gateway, *, undoes: str | None = None) -> Plan:
        old = cf.gateway
        validate_change(old, new)
        if [x.name for x in old.listeners] != [x.name for x in new.listeners] or any(
            a != b for a, b in zip(old.listeners, new.listeners, strict=False)
        ):
            for i, lst in enumerate(new.listeners):
                if lst not in old.listeners:
                    reason = port_problem(lst.address, lst.port)
                    if reason:
                        raise ValidationError(
                            [Problem(f"listeners[{i}].port", f"port {lst.port} is taken: {reason}")]
                        )
        names = changes.changed_route_names(old, new)
        before = {r.name: r for r in old.routes}
        after = {r.name: r for r in new.routes}
        route_changes = tuple(
            RouteChange(before.get(n) or _absent(n), after.get(n) or _absent(n)) for n in names
        )
        rds_only = not changes.touches_listener(old, new)
        return Plan(
            id=self.new_plan_id(),
            gateway=self.info().title,
            changes=route_changes,
            native_changes=tuple(changes.native_changes(old, new, names, self.layout)),
            base_version=cf.version,
            description=self.describe(route_changes) if route_changes else "gateway settings changed",
            warnings=tuple(changes.warnings(old, new, names, rds_only)),
            undoes=undoes,
            payload=_Payload(new, tuple(names)),
        )

    def plan_undo(self) -> Plan:
        """Restore the routes of the last change not undone yet (re-adding or removing routes that
        change added or removed)."""
        if self._history is None:
            raise NothingToUndo("this gateway keeps no history")
        entry = self._history.last_undoable()
        if entry is None:
            raise NothingToUndo("no applied change left to undo")
        cf = self._current()
        gw = cf.gateway
        current = {r.name: r for r in gw.routes}
        warnings = []
        for after in entry.after:
            now = current.get(after["name"])
            now_dict = route_to_dict(now) if now is not None else route_to_dict(_absent(after["name"]))
            if now_dict != after:
                warnings.append(
                    f"route {after['name']} changed after that change; undo restores it as it was before"
                )
        restored = [route_from_dict(d) for d in entry.before]
        routes = list(gw.routes)
        for r in restored:
            if not r.backends:  # the change had added this route: remove it
                routes = [x for x in routes if x.name != r.name]
            elif r.name in current:
                routes = [r if x.name == r.name else x for x in routes]
            else:
                routes.append(r)
        plan = self._plan(cf, replace(gw, routes=tuple(routes)), undoes=entry.id)
        return replace(
            plan, warnings=plan.warnings + tuple(warnings), description=f"undo {entry.description}"
        )

    def _apply(self, plan: Plan) -> str:
        payload = plan.payload
        if not isinstance(payload, _Payload):
            raise ChangeRejected("this plan was not made by the native connector")
        with self._mutex, self._lock.hold():
            cf = self._config
            if cf.changed_on_disk() or cf.version != plan.base_version:
                raise ChangeConflict(f"the config file {cf.path} changed since the plan; re-plan")
            if not self.is_running():
                raise GatewayNotRunning(self.health() or "Envoy is not running")
            state = GatewayState.read(self.state_dir)
            if state.pid != self._state.pid or state.xds_version != self._state.xds_version:
                # Another process restarted Envoy or pushed since: nothing known here is current.
                self._served = None
                self._state.xds_version = max(self._state.xds_version, state.xds_version)
            if not self._state.probe_token:
                self._state.probe_token = state.probe_token or secrets.token_hex(16)
            new = payload.gateway
            # The plan knows which routes differ from the file's model; when that model is what
            # is served (this process applied the last change), 10,000 routes need no comparing.
            known = payload.names if self._served is not None and self._served is cf.gateway else None
            version, pushed = self._deploy.push(self._served, new, known)
            # Envoy serves the change; now the YAML file (rendering it is not on the path to
            # "traffic follows": with 10,000 routes it takes longer than Envoy's reload).
            try:
                if cf.changed_on_disk():  # edited by hand while Envoy loaded the change
                    raise ChangeConflict(f"the config file {cf.path} changed during the apply; re-plan")
                cf.save(new)
            except BaseException:
                self._deploy.roll_back(pushed)
                raise
            self._served = new
            self._state.listeners = {x.name: f"{x.address}:{x.port}" for x in new.listeners}
            self._state.write(self.state_dir)
            return version

    def verify(self, plan: Plan) -> Verification:
        payload = plan.payload
        if not isinstance(payload, _Payload):
            return Verification(False, ("not a native plan",))
        return verify.check(self.admin, payload.gateway, payload.names)

    def served_version(self) -> str | None:
        """The version_info of the routes file on disk (what Envoy serves after a successful apply)."""
        for lst in self.gateway().listeners:
            text = _read(self.layout.rds(lst.name))
            if text is not None:
                return version_of(text)
        return None


def _absent(name: str) -> Route:
    """Stands for "no such route" in a RouteChange (a route added or removed by a plan)."""
    return Route(name=name, backends=())


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


__all__ = ["NativeConnector", "native_problems"]
