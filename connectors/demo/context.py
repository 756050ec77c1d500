"""What the demo's services share: the options, the context they fill in, and the ``Service`` base.

Kept apart from ``runner`` so a service module (the demo's Prometheus) can import these without
importing the runner that lists it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GatewayError
from .backend import DemoBackend
from .tokens import DemoIssuer
from .traffic import TrafficGenerator

if TYPE_CHECKING:
    from ..native import NativeConnector

CONFIG_FILE = "demo.yaml"
TOKEN_FILE = "token.jwt"


@dataclass(frozen=True)
class DemoOptions:
    """Fixed default ports make the printed URLs stable; a taken port falls back to a free one."""

    state_dir: Path | None = None
    listener_port: int = 10000
    stats_port: int = 9901  # the loopback /stats/prometheus listener (the admin API is a Unix socket)
    backend_ports: tuple[tuple[str, int], ...] = (("v1", 18081), ("v2", 18082))
    traffic: bool = True
    traffic_rate: float = 4.0
    burst_every: float = 15.0
    access_log_headers: tuple[str, ...] = ("x-user-id",)


@dataclass
class DemoContext:
    """What the started services share and what the caller gets back."""

    options: DemoOptions
    state_dir: Path
    issuer: DemoIssuer
    backends: dict[str, DemoBackend] = field(default_factory=dict)
    connector: NativeConnector | None = None
    traffic: TrafficGenerator | None = None
    prometheus_url: str | None = None

    @property
    def config_path(self) -> Path:
        return self.state_dir / CONFIG_FILE

    @property
    def token_path(self) -> Path:
        return self.state_dir / TOKEN_FILE

    @property
    def listener_url(self) -> str:
        if self.connector is None:
            raise GatewayError("the demo gateway is not started")
        return str(self.connector.listener_url())

    def ports(self) -> set[int]:
        """Every port the demo's services hold (for choosing free ones, and for tests)."""
        ports = {b.port for b in self.backends.values()}
        if self.connector is not None:
            ports.add(self.connector.stats_port)
            ports.add(_port(self.connector.listener_url()))
        return ports


class Service(ABC):
    """One part of the demo. ``stop()`` must be safe to call after a failed or partial ``start()``."""

    name: str = "service"

    @abstractmethod
    def start(self, ctx: DemoContext) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def describe(self, ctx: DemoContext) -> list[str]:
        """Lines for the demo's banner."""
        return []


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])
