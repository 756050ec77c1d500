"""What a connector package gives the registry: a ``ConnectorFactory``, found through the entry-point
group ``gatewayctl_tui.connectors`` (see ``connectors.registry``)::

    ConnectorFactory             kind, title; discover(), resolve(spec), open(target), cli_options()
    ├── NativeFactory            connectors.native.factory   + lifecycle(): up / down / status
    └── KubeFactory              connectors.kube.factory     detects the flavour: istio, envoygateway,
                                                             gatewayapi (connectors.kube.flavours)

A factory module must be cheap to import: it imports its connector classes in ``open``, so listing
targets and building the command line load no HTTP or Kubernetes client.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from .base import Connector

__all__ = ["CliOption", "ConnectorFactory", "GatewayStatus", "Lifecycle", "StartedGateway", "Target"]


@dataclass(frozen=True)
class Target:
    """Something to connect to: a native gateway's state directory, or a kubeconfig context.
    ``kind`` is the kind of the factory that found it (``ConnectorFactory.kind``)."""

    kind: str
    name: str
    location: str  # state directory (native) or context name (kube; "" for the current context)
    namespace: str | None = None
    detail: str = ""

    @property
    def key(self) -> str:
        """Stable identifier, remembered as the operator's last choice."""
        return f"{self.kind}:{self.location}" + (f"/{self.namespace}" if self.namespace else "")


@dataclass(frozen=True)
class CliOption:
    """A global command-line option that names a target of this factory (``argparse`` terms)."""

    flags: tuple[str, ...]
    dest: str
    help: str
    metavar: str | None = None


@dataclass(frozen=True)
class StartedGateway:
    """What ``Lifecycle.up`` started: where it serves and where its files are."""

    name: str
    state_dir: Path
    admin_url: str
    listeners: dict[str, str]  # listener name -> URL
    config_path: Path
    stats_url: str = ""  # where Prometheus scrapes it (loopback)
    warnings: tuple[str, ...] = ()  # e.g. a listener reachable from other machines


@dataclass(frozen=True)
class GatewayStatus:
    """Whether a gateway this tool runs is up; ``reason`` says why not."""

    target: Target
    running: bool
    reason: str = ""
    admin_url: str = ""
    listeners: dict[str, str] = field(default_factory=dict)  # listener name -> host:port
    # "running", "stopped", "restarting" or "config broken" (Envoy may serve the last good config).
    state: str = ""
    restarts: int = 0  # how often the supervisor restarted Envoy
    warning: str = ""  # what is wrong beside a serving gateway (no reverter for its time boxes)

    @property
    def label(self) -> str:
        """``running``, else ``<state> (<reason>)``, with the warning: what ``gateways`` prints."""
        state = self.state or ("running" if self.running else "stopped")
        said = [self.reason] if self.reason and state != "running" else []
        said += [self.warning] if self.warning else []
        return f"{state} ({'; '.join(said)})" if said else state


class Lifecycle(Protocol):
    """Gateways this tool runs itself (``gatewayctl-tui up``/``down``/``gateways``)."""

    def targets(self) -> list[Target]:
        """Every gateway started here, running or not (cheap: reads state files only)."""
        ...

    def up(
        self, config: Path, *, name: str | None = None, state_dir: Path | None = None, readonly: bool = False
    ) -> StartedGateway:
        """Start a gateway from ``config``, detached. Raises NotFound (no such file),
        ValidationError (bad config), ProcessStartFailed (ports taken, the process failed)."""
        ...

    def down(self, target: Target) -> bool:
        """Stop the gateway; False when it was not running."""
        ...

    def status(self, target: Target) -> GatewayStatus:
        """Whether the gateway runs (never raises for a gateway that is gone)."""
        ...


class ConnectorFactory(ABC):
    """One connector package's entry in the registry."""

    kind: ClassVar[str]
    """The kind of the targets it finds and opens (``Target.kind``): ``native``, ``kube``."""
    title: ClassVar[str]
    """Its section on the Connect screen, e.g. ``Native gateways``."""
    empty: ClassVar[str] = "none found"
    """What that section says when it has no target."""
    order: ClassVar[int] = 100
    """Listing order (lower first)."""
    connector_kinds: ClassVar[tuple[str, ...]] = ()
    """``Connector.kind`` of what ``open`` may return."""

    @abstractmethod
    def discover(self) -> list[Target]:
        """The targets this operator can reach. Cheap, no network; never raises for a broken config
        (a factory that cannot list anything returns [])."""

    def resolve(self, spec: str) -> Target | None:
        """The target an operator typed (``--gateway SPEC``), or None when it is not one of ours."""
        return None

    def not_found_hint(self) -> str:
        """Where this factory looked, for a NotFound message when no factory knows a spec."""
        return ""

    @abstractmethod
    def open(self, target: Target, *, readonly: bool = False, **options: Any) -> Connector:
        """A connector for ``target`` with its metrics wired. ``options`` are the factory's own
        (e.g. ``prometheus=PrometheusConfig``). Raises the ``connectors.errors`` tree."""

    def cli_options(self) -> tuple[CliOption, ...]:
        """Global command-line options that choose one of this factory's targets."""
        return ()

    def lifecycle(self) -> Lifecycle | None:
        """How to start and stop the gateways of this kind, when this tool runs them."""
        return None

    def is_open(self, target: Target, gateway_title: str) -> bool:
        """Whether ``target`` is the gateway whose ``GatewayInfo.title`` is ``gateway_title``."""
        return False
