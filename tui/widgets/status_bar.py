"""The header line every screen shows: which gateway, whether it is reachable, read-only, theme."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from ..host import ConsoleHost, console_of
from ..live import ConnectionState


def listener_urls(listeners: str) -> str:
    """``main 127.0.0.1:10000, tls 127.0.0.1:10443`` (a gateway's details) as URLs."""
    urls = []
    for item in listeners.split(","):
        address = item.split()[-1] if item.split() else ""
        if address:
            urls.append(address if "://" in address else f"http://{address}")
    return ", ".join(urls)


class StatusBar(Static):
    """``gatewayctl ▸ routes  native:demo  ● connected  listening http://127.0.0.1:10000  admin …  6
    routes  DRIFT: …  READ-ONLY`` — kept current by watching the app's connection state, so a lost
    connection or drift shows on whichever screen is open."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, view: str = "", *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.view = view
        self._metrics_status = "ok"

    @property
    def console(self) -> ConsoleHost:
        return console_of(self.app)

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self._render_state)
        self.watch(self.app, "routes", self._render_state, init=False)
        self.watch(self.app, "theme", self._render_state, init=False)
        self.watch(self.app, "snapshot", self._metrics_changed, init=False)

    def _metrics_changed(self, snapshot: Any) -> None:
        # Redraw only when the metrics status changes, not on every figure update.
        status = getattr(snapshot, "status", "ok") if snapshot is not None else "ok"
        if status != self._metrics_status:
            self._metrics_status = status
            self._render_state()

    def _render_state(self, _: Any = None) -> None:
        app = self.console
        state: ConnectionState = app.connection
        dot, style = {
            "connected": ("●", "$success"),
            "connecting": ("◌", "$warning"),
            "lost": ("✖", "$error"),
            "disconnected": ("○", "$text-muted"),
        }[state.status]
        parts: list[Content | str] = [Content.styled("gatewayctl", "bold $text-primary")]
        if self.view:
            parts += [" ▸ ", Content.styled(self.view, "bold")]
        if state.gateway:
            parts += ["  ", Content.styled(state.gateway, "bold")]
        parts += ["  ", Content.styled(f"{dot} {state.summary}", f"bold {style}")]
        listening = listener_urls(app.info.details.get("listeners", "") if app.info is not None else "")
        if state.status == "connected" and listening:
            parts += ["  ", Content.styled(f"listening {listening}", "$text-accent")]
        # The connector's endpoint (a cluster's context/namespace, a gateway's URL), unless it is the
        # listener just shown.
        admin = [Content.styled(f"  {state.endpoint}", "$text-muted")]
        if state.status == "connected" and state.endpoint and state.endpoint not in listening:
            parts += admin
        if state.status == "connected" and app.routes_loaded:
            count = len(app.routes)
            parts += [Content.styled(f"  {count:,} route{'s' if count != 1 else ''}", "$text-muted")]
        metrics_status = getattr(app.snapshot, "status", "ok") if app.snapshot is not None else "ok"
        if state.status == "connected" and metrics_status != "ok":
            parts += ["  ", Content.styled(f"metrics: {metrics_status}", "$text-warning")]
        if state.status == "connected" and state.drift:
            # What Envoy serves is not what the console shows (a hand edit, a crash): say so on
            # every screen (details: gatewayctl-tui drift).
            parts += ["  ", Content.styled(f"DRIFT: {state.drift}", "bold $text-warning")]
        if state.readonly:
            parts += ["  ", Content.styled(" READ-ONLY ", "bold $text-warning on $warning-muted")]
        line = Content.assemble(*parts)
        if line.cell_length > self.size.width - 2 > 0 and admin[0] in parts:
            parts.remove(admin[0])  # narrow: where clients go matters more than the endpoint
            line = Content.assemble(*parts)
        self.update(line)

    def on_resize(self) -> None:
        self._render_state()
