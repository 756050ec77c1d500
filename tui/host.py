"""What screens and widgets need from the console app, as a Protocol.

Screens talk to ``ConsoleHost``, not to ``ConsoleApp``: the app imports its screens (lazily), and
the screens import only this module, so there is no import cycle through the app. ``tui/app.py``
checks (for mypy) that ``ConsoleApp`` satisfies the protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from connectors.base import Connector, GatewayInfo
    from connectors.capabilities import Capabilities
    from connectors.metrics.types import Snapshot
    from connectors.model import Route

    from .config import ConsoleConfig
    from .live import ConnectionState


class ConsoleHost(Protocol):
    """The console's state (kept current by its poll) and the few things a screen asks it to do."""

    @property
    def connector(self) -> Connector | None: ...
    @property
    def connection(self) -> ConnectionState: ...
    @property
    def routes(self) -> tuple[Route, ...]: ...
    @property
    def routes_loaded(self) -> bool: ...
    @property
    def snapshot(self) -> Snapshot | None: ...
    @property
    def capabilities(self) -> Capabilities: ...
    @property
    def info(self) -> GatewayInfo | None: ...
    @property
    def settings(self) -> ConsoleConfig: ...
    @property
    def readonly(self) -> bool: ...
    @property
    def metrics_source(self) -> Any: ...

    def refresh_now(self) -> None:
        """Re-read routes and figures now."""

    def run_console_command(self, text: str) -> None:
        """Run what the ``:`` prompt was given."""

    def request_quit(self) -> None:
        """Quit, asking first when that would lose an edit or stop the demo."""

    def show_view(self, mode: str) -> None:
        """Switch to a view (routes, policies, history, connect)."""

    def open_optional(self, key: str, *args: Any) -> None:
        """Open the triage, canary or charts view."""

    def attach(self, connector: Connector, *, owned: bool = False) -> None:
        """Operate ``connector`` from now on."""

    def adopt_demo(self, runner: Any) -> None:
        """Operate the demo the Connect screen started."""

    def remember_target(self, key: str) -> None:
        """Save the gateway chosen on the Connect screen as the next default."""


def console_of(app: App[Any]) -> ConsoleHost:
    """The console behind ``app`` (screens and widgets only ever run inside a ConsoleApp)."""
    return cast("ConsoleHost", app)
