"""The header line every screen shows: which gateway, whether it is reachable, read-only, theme."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from ..host import ConsoleHost, console_of
from ..live import ConnectionState
from .unchanged import update_static


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
        head: list[Content | str] = [Content.styled("gatewayctl", "bold $text-primary")]
        if self.view:
            head += [" ▸ ", Content.styled(self.view, "bold")]
        if state.gateway:
            head += ["  ", Content.styled(state.gateway, "bold")]
        # The safety marks (drift, read-only) always show; optional parts give way first.
        tail: list[Content | str] = []
        if state.status == "connected" and state.drift:
            # What Envoy serves is not what the console shows (a hand edit, a crash): say so on
            # every screen (details: gatewayctl-tui drift).
            tail += ["  ", Content.styled(f"DRIFT: {state.drift}", "bold $text-warning")]
        if state.readonly:
            tail += ["  ", Content.styled(" READ-ONLY ", "bold $text-warning on $warning-muted")]
        optional = self._optional_parts(state) if state.status == "connected" else []
        summary = f"{dot} {state.summary}"
        room = self.size.width - 2 if self.size.width > 2 else 10_000
        fixed = Content.assemble(*head, "  ", *tail).cell_length
        # Drop whole optional parts, least useful first, until the line fits.
        while optional and fixed + len(summary) + sum(p.cell_length for p in optional) > room:
            optional.pop(optional.index(min(optional, key=self._rank)))
        if fixed + len(summary) > room:  # a long "connection lost: …" reason: ellipsize, never wrap
            summary = summary[: max(room - fixed - 1, 3)] + "…"
        line = Content.assemble(*head, "  ", Content.styled(summary, f"bold {style}"), *optional, *tail)
        update_static(self, line)  # polls that changed nothing shown redraw nothing

    _ORDER = ("admin", "listening-all", "metrics", "routes", "listening")

    def _rank(self, part: Content) -> int:
        """Which optional part goes first when narrow: the endpoint, then the extra listeners."""
        return self._ORDER.index(self._kinds.get(id(part), "admin"))

    def _optional_parts(self, state: ConnectionState) -> list[Content]:
        app = self.console
        self._kinds: dict[int, str] = {}
        parts: list[Content] = []

        def add(kind: str, part: Content) -> None:
            self._kinds[id(part)] = kind
            parts.append(part)

        listening = listener_urls(app.info.details.get("listeners", "") if app.info is not None else "")
        if listening:
            urls = listening.split(", ")
            add("listening", Content.styled(f"  listening {urls[0]}", "$text-accent"))
            if len(urls) > 1:
                add("listening-all", Content.styled(", " + ", ".join(urls[1:]), "$text-accent"))
        # The connector's endpoint (a cluster's context/namespace, a gateway's URL), unless it is the
        # listener just shown.
        if state.endpoint and state.endpoint not in listening:
            add("admin", Content.styled(f"  {state.endpoint}", "$text-muted"))
        if app.routes_loaded:
            count = len(app.routes)
            add("routes", Content.styled(f"  {count:,} route{'s' if count != 1 else ''}", "$text-muted"))
        metrics_status = getattr(app.snapshot, "status", "ok") if app.snapshot is not None else "ok"
        if metrics_status != "ok":
            add("metrics", Content.styled(f"  metrics: {metrics_status}", "$text-warning"))
        return parts

    def on_resize(self) -> None:
        self._render_state()
