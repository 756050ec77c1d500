"""What the crash journal, recovery and the drift check need of a native gateway (a Protocol, so
``trust.TrustedGateway`` can use those modules and they can name it without an import cycle)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..audit import AuditLog
    from ..base import Plan
    from ..history import HistoryStore
    from ..model import Gateway
    from .admin import AdminClient
    from .config_file import ConfigFile
    from .deploy import Deployer
    from .render import Layout
    from .state import ApplyLock, GatewayState


class Trusted(Protocol):
    """A native gateway as ``journal``, ``recover`` and ``drift`` see it (``trust.TrustedGateway``)."""

    readonly: bool
    state_dir: Path
    layout: Layout
    admin: AdminClient
    user: str
    _mutex: threading.RLock
    _lock: ApplyLock
    _state: GatewayState
    _config: ConfigFile
    _deploy: Deployer
    _served: Gateway | None

    @property
    def config_path(self) -> Path: ...

    @property
    def history_store(self) -> HistoryStore | None: ...

    @property
    def audit_log(self) -> AuditLog | None: ...

    def is_running(self) -> bool: ...

    def _current(self) -> ConfigFile: ...

    def served_model(self) -> Gateway: ...

    def probe_unloaded(self, listener_names: list[str]) -> dict[Path, tuple[str | None, str]]: ...

    def drift(self) -> tuple[str, ...]: ...

    def journal_intent(self, plan: Plan) -> None: ...

    def journal_completed(self, plan: Plan) -> None: ...

    def journal_abandoned(self, plan: Plan, *, rolled_back: bool) -> None: ...
