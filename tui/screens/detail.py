"""Describe one route: matches, backends, every policy, live figures and the native objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from connectors.base import Connector
from connectors.model import Route

from ..highlight import highlight_yaml
from ..route_rows import NO_VALUE, backends_text, format_ms, format_rate, policy_settings, status_of
from ..widgets.key_hints import KeyHints
from ..widgets.split_panel import SplitPanel
from ..widgets.unchanged import update_static
from ..widgets.weight_bar import WeightBar
from .deny_client import DenyActions
from .route_screen import RouteScreen
from .yaml_view import NativeRead

if TYPE_CHECKING:
    # Types only: importing the metrics package loads its HTTP clients, too slow for start-up.
    from connectors.metrics.types import Snapshot


def describe_selected(screen: RouteScreen) -> None:
    """Open the description of the route selected in a list view (routes, policies)."""
    if (route := screen.current_route()) is not None:
        screen.app.push_screen(DetailScreen(route.name))


def _field(label: str, value: Content | str) -> Content:
    return Content.assemble(Content.styled(f"{label:<10}", "bold $text-secondary"), value)


def describe(route: Route) -> Content:
    """The static part of a route's description."""
    lines = [
        _field("Hosts", ", ".join(route.hosts)),
        _field("Listener", route.listener or "(all)"),
    ]
    for i, match in enumerate(route.matches):
        lines.append(_field("Match" if i == 0 else "", str(match)))
    policies = policy_settings(route)
    if not policies:
        lines.append(_field("Policies", Content.styled("none", "$text-muted")))
    for i, (policy, settings) in enumerate(policies):
        lines.append(
            _field(
                "Policies" if i == 0 else "",
                Content.assemble(Content.styled(f"{policy:<10}", "bold"), settings),
            )
        )
    if route.source:
        lines.append(_field("Source", Content.styled(route.source, "$text-muted")))
    # Last, so the weight bar sits right under it.
    mode = "" if route.weight_mode == "percent" else " (relative weights)"
    lines.append(_field("Backends", backends_text(route) + mode))
    return Content("\n").join(lines)


def describe_live(route: Route, snapshot: Snapshot | None) -> Content:
    stats = snapshot.routes.get(route.name) if snapshot is not None else None
    if stats is None:
        return _field("Live", Content.styled(f"{NO_VALUE} no figures yet", "$text-muted"))
    status = status_of(stats)
    style = {"healthy": "$route-healthy", "degraded": "$route-degraded", "limited": "$route-limited"}.get(
        status, "$route-idle"
    )
    limited = format_rate(stats.limited_rps)
    head = Content.styled(
        f"{format_rate(stats.rps)} req/s   5xx {stats.error_pct:.1f}%   429 {limited}/s"
        f"   p99 {format_ms(stats.p99_ms)}   ({status or 'no traffic'})",
        f"bold {style}",
    )
    lines = [_field("Live", head)]
    for name, b in sorted(stats.backends.items()):
        lines.append(
            _field(
                "",
                f"{name:<12} {format_rate(b.rps)} req/s   5xx {b.error_pct:.1f}%   p99 {format_ms(b.p99_ms)}",
            )
        )
    return Content("\n").join(lines)


class DetailScreen(DenyActions, RouteScreen):
    VIEW = "route"
    DEFAULT_CSS = """
    DetailScreen VerticalScroll { padding: 0 1; }
    DetailScreen .title { text-style: bold; color: $text-primary; margin: 1 0 0 0; }
    DetailScreen WeightBar { margin: 0 0 0 10; max-width: 80; }
    DetailScreen #native { margin: 0 0 1 2; }
    DetailScreen #split { margin: 1 0 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="view.close"),
        Binding("enter,d", "describe", "Describe", show=False, id="view.describe"),
        Binding("b", "deny_client", "Deny client", id="route.deny_client"),
    ]

    def __init__(self, route_name: str) -> None:
        super().__init__()
        self.route_name = route_name
        self._native_for: Route | None = None
        self._weights: tuple[tuple[str, int], ...] | None = None  # what the split counts against

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        with VerticalScroll(id="body"):
            yield Static(Content.styled(self.route_name, "bold"), classes="title", id="heading")
            yield Static("", id="describe")
            yield WeightBar(id="bar")
            yield Static("", id="live")
            yield SplitPanel(self.route_name, id="split")
            yield Static("Native objects  (y opens them alone)", classes="title")
            yield Static(Content.styled("loading…", "$text-muted"), id="native")
        yield KeyHints()

    def on_mount(self) -> None:
        self.watch(self.app, "routes", self._routes_changed)
        self.watch(self.app, "snapshot", self._snapshot_changed)
        self.query_one("#body").focus()

    def focus_body(self) -> None:
        self.query_one("#body").focus()

    def selected_route(self) -> str | None:
        return self.route_name

    def _route(self) -> Route | None:
        return next((r for r in self.console.routes if r.name == self.route_name), None)

    def _routes_changed(self, routes: tuple[Route, ...]) -> None:
        route = self._route()
        if route is None:
            if self.console.routes_loaded:
                self.query_one("#describe", Static).update(
                    Content.styled(
                        f"Route {self.route_name} is not on the gateway (any more).", "$text-error"
                    )
                )
            return
        title = Content.assemble(
            Content.styled(route.name, "bold"), Content.styled(f"  {route.source}", "$text-muted")
        )
        self.query_one("#heading", Static).update(title)
        self.query_one("#describe", Static).update(describe(route))
        weights = tuple((b.name, b.weight) for b in route.backends)
        self.query_one("#bar", WeightBar).weights = weights
        self._split_follows(weights)
        self._snapshot_changed(self.console.snapshot)
        connector = self.console.connector
        if route != self._native_for and connector is not None:
            self._native_for = route
            self._read_native(connector, route.name)

    def _split_follows(self, weights: tuple[tuple[str, int], ...]) -> None:
        """The split is shown for a route with more than one backend, and counted afresh (its old
        verdict blanked) when the weights change under it."""
        split = self.query_one("#split", SplitPanel)
        split.display = len(weights) > 1
        if self._weights is not None and weights != self._weights:
            split.reset()
        self._weights = weights

    @work(thread=True, exclusive=True, exit_on_error=False, group="native", name="native")
    def _read_native(self, connector: Connector, name: str) -> NativeRead:
        return NativeRead(connector.native_objects(name))

    def on_native_read(self, message: NativeRead) -> None:
        self.query_one("#native", Static).update(highlight_yaml(message.text))

    def _snapshot_changed(self, snapshot: Snapshot | None) -> None:
        route = self._route()
        if route is not None:
            update_static(self.query_one("#live", Static), describe_live(route, snapshot))

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name == "native":
            self._native_for = None
            self.query_one("#native", Static).update(Content.styled(f"cannot read: {error}", "$text-error"))
        return False

    def action_describe(self) -> None:
        self.query_one("#body", VerticalScroll).scroll_home()
