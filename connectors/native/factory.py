"""The native connector's entry in the registry: gateways this tool runs (one state directory each,
under ``connectors.paths.gateways_dir()``), and their lifecycle (``up``, ``down``, ``status``).

``start`` and ``attach`` are how anything outside this package makes a ``NativeConnector``: they wire
its metrics source (Envoy's admin endpoint), which the connector itself does not import.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import GatewayError, GatewayNotRunning, NotFound
from ..factory import CliOption, ConnectorFactory, GatewayStatus, StartedGateway, Target
from ..paths import gateways_dir
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
    admin_port: int = 0,
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
        admin_port=admin_port,
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


def _one_line(text: str) -> str:
    return " ".join(text.split())


class NativeLifecycle:
    """``gatewayctl-tui up`` / ``down`` / ``gateways`` (``connectors.factory.Lifecycle``)."""

    def targets(self) -> list[Target]:
        return NativeFactory().discover()

    def up(
        self, config: Path, *, name: str | None = None, state_dir: Path | None = None, readonly: bool = False
    ) -> StartedGateway:
        config = Path(config).expanduser().resolve()
        if not config.is_file():
            raise NotFound(f"no config file at {config}")
        if state_dir is None and name is not None:
            from .validation import state_dir_for  # never a folder outside the gateways folder

            state_dir = state_dir_for(name)
        connector = start(config, state_dir, readonly=readonly, owned=False)
        try:
            gateway = connector.gateway()
            return StartedGateway(
                name=gateway.name,
                state_dir=connector.state_dir,
                admin_url=connector.admin_url,
                listeners={x.name: connector.listener_url(x.name) for x in gateway.listeners},
                config_path=connector.config_path,
            )
        finally:
            connector.close()

    def down(self, target: Target) -> bool:
        try:
            connector = attach(Path(target.location))
        except GatewayNotRunning:
            return False
        try:
            if not connector.is_running():
                return False
            connector.stop()
        finally:
            connector.close()
        return True

    def status(self, target: Target) -> GatewayStatus:
        state = _read_state(Path(target.location))
        admin_url, listeners = str(state.get("admin_url", "")), dict(state.get("listeners") or {})
        try:
            connector = attach(Path(target.location))
        except GatewayError as exc:
            return GatewayStatus(target, False, _one_line(str(exc)), admin_url, listeners)
        try:
            reason = None if connector.is_running() else connector.health()
        finally:
            connector.close()
        return GatewayStatus(target, reason is None, _one_line(reason or ""), admin_url, listeners)


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
        path = Path(spec).expanduser()
        if (path / STATE_FILE).exists():
            return Target(self.kind, path.name, str(path))
        for target in self.discover():
            if target.name == spec or Path(target.location).name == spec:
                return target
        return None

    def not_found_hint(self) -> str:
        return f"native gateways live in {self.root or gateways_dir()}"

    def open(self, target: Target, *, readonly: bool = False, **options: Any) -> NativeConnector:
        return attach(Path(target.location), readonly=readonly)

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
