"""The native connector's entry in the registry: gateways this tool runs (one state directory each,
under ``connectors.paths.gateways_dir()``), and their lifecycle (``up``, ``down``, ``status``).

``start`` and ``attach`` are how anything outside this package makes a ``NativeConnector``: they wire
its metrics source (Envoy's admin endpoint), which the connector itself does not import.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import GatewayError, NotFound, ProcessStartFailed, UnsafeState
from ..factory import CliOption, ConnectorFactory, GatewayStatus, StartedGateway, Target
from ..paths import gateways_dir, private_dir, state_folder_problem
from . import gateway_index

if TYPE_CHECKING:
    from .connector import NativeConnector

STATE_FILE = "state.json"  # as connectors.native.state writes it (not imported: it loads the xDS code)

__all__ = ["NativeFactory", "NativeLifecycle", "attach", "start"]


def _wire(connector: NativeConnector) -> NativeConnector:
    def make_source() -> Any:
        from ..metrics import metrics_for

        return metrics_for(connector)

    connector.wire_metrics(make_source)
    return connector


def start(
    config: Path,
    state_dir: Path | None = None,
    *,
    readonly: bool = False,
    stats_port: int = 0,
    owned: bool = False,
    access_log_headers: Sequence[str] = (),
    concurrency: int | None = None,
) -> NativeConnector:
    """``NativeConnector.start`` (validate, render, launch Envoy, wait until it serves), metrics wired."""
    from .connector import NativeConnector

    connector = NativeConnector.start(
        config,
        state_dir,
        readonly=readonly,
        stats_port=stats_port,
        owned=owned,
        access_log_headers=access_log_headers,
        concurrency=concurrency,
    )
    gateway_index.remember(connector.state_dir)  # found by `gateways` and Connect wherever it lives
    return _wire(connector)


def attach(state_dir: Path, *, readonly: bool = False) -> NativeConnector:
    """``NativeConnector.attach`` (a gateway started earlier, maybe by another process), metrics wired."""
    from .connector import NativeConnector

    return _wire(NativeConnector.attach(state_dir, readonly=readonly))


def _read_state(state_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


DRIFT = "drift"  # a gateways state: serving, but not what the YAML or the last apply says


def _drift(state_dir: Path) -> str | None:
    """The first drift line of a running gateway (and how many more), or None."""
    try:
        connector = attach(state_dir, readonly=True)
    except GatewayError:
        return None
    try:
        lines = connector.drift()
    except GatewayError:
        return None
    finally:
        connector.close()
    return lines[0] + (f" (+{len(lines) - 1} more)" if len(lines) > 1 else "") if lines else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


class NativeLifecycle:
    """``gatewayctl-tui up`` / ``down`` / ``gateways`` (``connectors.factory.Lifecycle``). A running
    gateway's status ``reason`` says what is wrong while it serves (its YAML does not read)."""

    def targets(self) -> list[Target]:
        return NativeFactory().discover()

    def up(
        self, config: Path, *, name: str | None = None, state_dir: Path | None = None, readonly: bool = False
    ) -> StartedGateway:
        """Validate the YAML here (every problem with its field), then start Envoy under a detached
        supervisor (``supervisor.py``) that restarts it when it dies; wait until it serves."""
        from .config_file import ConfigFile
        from .supervisor import spawn_supervisor
        from .validation import beyond_loopback, state_dir_for, validate

        config = Path(config).expanduser().resolve()
        if not config.is_file():
            raise NotFound(f"no config file at {config}")
        if state_dir is None and name is not None:  # never a folder outside the gateways folder
            state_dir = state_dir_for(name)
        cf = ConfigFile.load(config)
        validate(cf.gateway)
        state_dir = Path(state_dir) if state_dir is not None else gateways_dir() / cf.gateway.name
        if problem := state_folder_problem(state_dir):  # before reading any pid file in it
            raise UnsafeState(f"state folder {problem}")
        status = self.status(Target("native", cf.gateway.name, str(state_dir)))
        if status.state in ("running", "restarting") or (status.state == "config broken" and status.running):
            raise ProcessStartFailed(
                f"gateway {cf.gateway.name!r} is already running from {state_dir}; stop it first "
                f"(gatewayctl-tui down {state_dir})"
            )
        private_dir(state_dir)
        spawn_supervisor(config, state_dir)
        connector = attach(state_dir, readonly=readonly)
        try:  # time-boxed changes revert with no console running: the supervisor carries them out
            gateway = connector.gateway()
            return StartedGateway(
                name=gateway.name,
                state_dir=connector.state_dir,
                admin_url=connector.admin_url,
                listeners={x.name: connector.listener_url(x.name) for x in gateway.listeners},
                config_path=connector.config_path,
                stats_url=connector.stats_url,
                warnings=(*beyond_loopback(None, gateway), *_readable_by_others(config)),
            )
        finally:
            connector.close()

    def down(self, target: Target) -> bool:
        """Stop the gateway: a detached time-box reverter (gateways started before the supervisor
        carried them out), its supervisor (which stops Envoy first), else Envoy itself."""
        from .reverter import stop_detached
        from .supervisor import stop_supervisor

        stop_detached(Path(target.location))
        if stop_supervisor(Path(target.location)):
            return True
        try:
            connector = attach(Path(target.location))
        except GatewayError:
            return False
        try:
            if not connector.is_running():
                return False
            connector.stop()
        finally:
            connector.close()
        return True

    def status(self, target: Target) -> GatewayStatus:
        """running / stopped (reason) / restarting (reason) / config broken (reason): read from the
        state files and the processes, without loading the YAML into a connector (a broken YAML
        must not hide whether Envoy serves); a running gateway whose YAML or served config differs
        from the last applied one is ``drift (<first difference>)``."""
        from .reverter import unattended
        from .status import RUNNING, gateway_status

        state_dir = Path(target.location)
        state = _read_state(state_dir)
        found = gateway_status(state_dir, state)
        listeners = dict(state.get("listeners") or {})
        drift = _drift(state_dir) if found.state == RUNNING else None
        return GatewayStatus(
            target,
            found.serving,
            _one_line(drift or found.reason),
            str(state.get("admin_url", "")),
            listeners,
            state=DRIFT if drift else found.state,
            restarts=found.restarts,
            # Only while a time box waits: a gateway with none has nothing to be carried out.
            warning=unattended(state_dir) if found.serving and _boxes_pending(state_dir) else "",
        )


class NativeFactory(ConnectorFactory):
    """Native gateways: a real Envoy this tool runs, configured through file-based xDS."""

    kind: ClassVar[str] = "native"
    title: ClassVar[str] = "Native gateways"
    empty: ClassVar[str] = "none running — start one with `gatewayctl-tui up CONFIG`"
    order: ClassVar[int] = 10
    connector_kinds: ClassVar[tuple[str, ...]] = ("native",)

    def __init__(self, root: Path | None = None) -> None:
        self.root = root  # None: gateways_dir() when asked (it follows $GATEWAYCTL_STATE_DIR)

    def discover(self) -> list[Target]:
        """Native gateways started by the tool (each has a state directory with ``state.json``): those
        in the gateways folder, then those started with their own state directory."""
        root = self.root or gateways_dir()
        found = [state.parent for state in sorted(root.glob(f"*/{STATE_FILE}"))] if root.is_dir() else []
        if self.root is None:
            found += [d for d in gateway_index.remembered() if d not in found]
        out = []
        for directory in found:
            data = _read_state(directory)
            if data:
                detail = f"admin {data.get('admin_url', '?')}"
                name = data.get("name", directory.name)
                out.append(Target(self.kind, name, str(directory), detail=detail))
        return out

    def resolve(self, spec: str) -> Target | None:
        # Here, not at the top: validation loads the model, which the command line's parser (built
        # from every factory's options) does not need.
        from .validation import gateway_name_problems

        if "/" not in spec and not spec.startswith("~") and gateway_name_problems(spec, "--gateway"):
            return None  # not a gateway's name (too long, odd characters): checked before any file
        path = Path(spec).expanduser()
        try:
            if (path / STATE_FILE).exists():
                return Target(self.kind, path.name, str(path))
        except OSError:  # a path too long or unreadable is no gateway's state folder
            return None
        for target in self.discover():
            if target.name == spec or Path(target.location).name == spec:
                return target
        return None

    def not_found_hint(self) -> str:
        return f"native gateways live in {self.root or gateways_dir()}"

    def open(self, target: Target, *, readonly: bool = False, **options: Any) -> NativeConnector:
        """Attach, then reconcile any change a crash interrupted (``NativeConnector.recover``: its
        lines are the connector's ``notices``)."""
        connector = attach(Path(target.location), readonly=readonly)
        try:
            connector.recover()
        except BaseException:
            connector.close()
            raise
        return connector

    def cli_options(self) -> tuple[CliOption, ...]:
        return (
            CliOption(
                ("--gateway",),
                "gateway",
                "a native gateway by name or state directory (default: $GATEWAYCTL_GATEWAY, or the only one)",
                "NAME|STATE_DIR",
            ),
        )

    def lifecycle(self) -> NativeLifecycle:
        return NativeLifecycle()

    def is_open(self, target: Target, gateway_title: str) -> bool:
        return gateway_title.endswith(":" + target.name)


def _readable_by_others(config: Path) -> tuple[str, ...]:
    """A warning when the operator's YAML (which may hold header secrets and keys) is readable by
    other local users; the tool's own writes of it are 0600."""
    try:
        mode = stat.S_IMODE(config.stat().st_mode)
    except OSError:
        return ()
    if not mode & 0o044:
        return ()
    return (f"{config} is readable by other users (mode {mode:o}) and may hold secrets: chmod 600 {config}",)


def _boxes_pending(state_dir: Path) -> bool:
    """Whether a time box of this gateway still waits to be reverted."""
    from ..timeboxes import FileTimeBoxes
    from .connector import TIMEBOX_FILE

    return any(b.status == "pending" for b in FileTimeBoxes(state_dir / TIMEBOX_FILE).boxes())
