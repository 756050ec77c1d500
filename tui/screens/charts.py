"""Traffic charts for the gateway, a route or one backend of a route.

Three charts share the time axis: requests/s by status class, 429/s, and p50/p95/p99 latency. Keys
``1``-``4`` switch the window (5m, 1h, 6h, 24h); ``g`` charts the whole gateway, ``r`` a route (again:
the next route), ``b`` steps through the route's backends, ``o`` overlays every backend of the route on
one chart (requests/s and p99 per backend).
Figures are fetched in a worker thread and the next fetch is scheduled only when the previous one
has finished (a self-rescheduling timer), so a slow Prometheus delays the charts but never the UI;
a source without data shows ``no data since …`` in the chart titles.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from connectors.metrics import CLASSES, GATEWAY, WINDOWS, ChartData, MetricsSource, Scope, Series

from ..widgets.chart import TimeChart
from ..widgets.key_hints import KeyHints
from .base import ConsoleScreen

NO_SOURCE = "no metrics for this gateway (a cluster gateway needs --prometheus URL)"
Shown = TypeVar("Shown")


class LiveScreen(ConsoleScreen, Generic[Shown]):
    """A view that fetches figures in a worker every ``refresh`` seconds, one fetch at a time."""

    _timer: Timer | None = None

    class Fetched(Message, bubble=False):
        """What ``fetch`` returned (the view's ``Shown`` type)."""

        def __init__(self, data: object) -> None:
            super().__init__()
            self.data = data

    @property
    def metrics(self) -> MetricsSource | None:
        source = self.console.metrics_source
        return source if isinstance(source, MetricsSource) else None

    @property
    def refresh_seconds(self) -> float:
        return float(self.console.settings.refresh_seconds or 1.0)

    def fetch(self) -> Shown:
        """Blocking: what the view shows (runs in a worker thread)."""
        raise NotImplementedError

    def show(self, result: Shown) -> None:
        """Show what ``fetch`` returned (UI thread)."""

    def on_mount(self) -> None:
        self.poll_now()

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def poll_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._fetch_live()

    @work(thread=True, exclusive=True, exit_on_error=False, group="live", name="live")
    def _fetch_live(self) -> Fetched:
        return self.Fetched(self.fetch())

    def on_live_screen_fetched(self, message: Fetched) -> None:
        self.show(cast("Shown", message.data))  # posted only by this screen's own fetch
        self._schedule()

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name == "live":
            self._schedule()
        return False  # shown as a toast (a GatewayError) or an error modal

    def _schedule(self) -> None:
        if self.is_attached:
            self._timer = self.set_timer(self.refresh_seconds, self.poll_now)

    def action_refresh(self) -> None:
        self.poll_now()


def _allowed(rps: Series, limited: Series) -> Series:
    values = tuple(
        None if r is None else max(0.0, r - (lim or 0.0))
        for r, lim in zip(rps.values, limited.values, strict=False)
    )
    return Series("allowed", "allowed/s", "req/s", values)


Fetched = tuple[ChartData | None, list[str], list[tuple[str, ChartData]]]


def per_backend(
    times: tuple[float, ...], backends: list[tuple[str, ChartData]], key: str, what: str
) -> list[Series]:
    """One line per backend (``key`` of each backend's data), on the route's time axis."""
    out = []
    for i, (name, data) in enumerate(backends):
        values = data.values(key)[-len(times) :] if times else ()
        padded = (None,) * (len(times) - len(values)) + tuple(values)
        found = data.get(key)
        out.append(Series(f"backend-{i}", f"{name} {what}", found.unit if found else "", padded))
    return out


class ChartsScreen(LiveScreen[Fetched]):
    VIEW = "charts"
    AUTO_FOCUS = None  # nothing to type into: the keys switch window and scope
    DEFAULT_CSS = """
    ChartsScreen #chart-info { height: 1; padding: 0 1; background: $surface; color: $text-muted; }
    ChartsScreen TimeChart { border-top: solid $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "window('5m')", "5m", id="charts.window_5m"),
        Binding("2", "window('1h')", "1h", id="charts.window_1h"),
        Binding("3", "window('6h')", "6h", id="charts.window_6h"),
        Binding("4", "window('24h')", "24h", id="charts.window_24h"),
        Binding("g", "gateway_scope", "Gateway", id="charts.gateway"),
        Binding("r", "route_scope", "Route", id="charts.route"),
        Binding("b", "next_scope", "Backend", id="charts.next_scope"),
        Binding("o", "overlay", "All backends", id="charts.overlay"),
        Binding("escape", "back", "Back", show=False, id="view.close"),
    ]

    def __init__(self, connector: Any = None, route: str | None = None, *, window: str = "5m") -> None:
        super().__init__()
        self.connector = connector
        self.scope = Scope(route) if route else GATEWAY
        self.window = window
        self.overlay = False  # every backend of the route on one chart
        self._last_route = route
        self._backends: list[str] = []
        self.last: ChartData | None = None
        self._info_text = ""

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        yield Static("", id="chart-info")
        yield TimeChart("Responses", "req/s", id="chart-traffic")
        yield TimeChart("Rate limited", "req/s", id="chart-limited")
        yield TimeChart("Latency", "ms", id="chart-latency")
        yield KeyHints()

    def on_mount(self) -> None:
        self._info()
        self.call_after_refresh(self.focus_body)
        super().on_mount()

    def focus_body(self) -> None:
        self.set_focus(None)

    def _info(self, data: ChartData | None = None) -> None:
        source = self.metrics
        what = source.name if source is not None else "no source"
        status = data.status if data is not None else ("loading…" if source is not None else NO_SOURCE)
        step = f" · {data.step_s:g} s steps" if data is not None else ""
        label = f"route {self.scope.route} · every backend" if self.overlay else self.scope.label
        text = f"{label} · last {self.window}{step} · {what}"
        text = text if status == "ok" else f"{text} · {status}"
        if text != self._info_text:  # an update re-lays out the screen: only when it changes
            self._info_text = text
            self.query_one("#chart-info", Static).update(text)

    def fetch(self) -> Fetched:
        source = self.metrics
        if source is None:
            return None, [], []
        backends: list[str] = []
        scope, window, overlay = self.scope, WINDOWS[self.window], self.overlay
        if scope.route is not None and self.connector is not None:
            backends = [b.name for b in self.connector.get_route(scope.route).backends]
        each = [(b, source.series(Scope(scope.route, b), window)) for b in backends] if overlay else []
        return source.series(scope, window), backends, each

    def show(self, result: Fetched) -> None:
        data, backends, each = result
        self._backends = backends or self._backends
        self.last = data
        self._info(data)
        if data is None:
            for chart in self.query(TimeChart):
                chart.show((), (), NO_SOURCE)
            return
        traffic_chart = self.query_one("#chart-traffic", TimeChart)
        traffic_chart.chart_title = "Requests per backend" if each else "Responses"
        if each:
            traffic_chart.show(data.times, per_backend(data.times, each, "rps", "req/s"), data.status)
            latency = per_backend(data.times, each, "p99", "p99")
            self.query_one("#chart-latency", TimeChart).show(data.times, latency, data.status)
            self._limited(data)
            return
        get = data.get
        traffic = [s for s in (get("rps"), *(get(c) for c in CLASSES)) if s is not None and any(s.values)]
        if not traffic and get("rps") is not None:
            traffic = [s for s in (get("rps"),) if s is not None]
        traffic_chart.show(data.times, traffic, data.status)
        self._limited(data)
        latency = [s for s in (get("p50"), get("p95"), get("p99")) if s is not None]
        self.query_one("#chart-latency", TimeChart).show(data.times, latency, data.status)

    def _limited(self, data: ChartData) -> None:
        rps, limited = data.get("rps"), data.get("limited")
        lines = [limited, _allowed(rps, limited)] if rps is not None and limited is not None else []
        self.query_one("#chart-limited", TimeChart).show(data.times, lines, data.status)

    def action_window(self, label: str) -> None:
        if label in WINDOWS and label != self.window:
            self.window = label
            self._info()
            self.poll_now()

    def _rescope(self, scope: Scope, *, overlay: bool = False) -> None:
        self.scope, self.overlay = scope, overlay
        self._info()
        self.poll_now()

    def action_gateway_scope(self) -> None:
        self._rescope(GATEWAY)

    def action_route_scope(self) -> None:
        """The route charted last (or the first); on a route already: the next route."""
        names = [r.name for r in self.console.routes]
        if not names:
            self.notify("No routes to chart yet.", timeout=3)
            return
        current = self.scope.route or self._last_route
        on_route = self.scope.kind == "route" and not self.overlay
        if current in names:
            route = names[(names.index(current) + 1) % len(names)] if on_route else current
        else:
            route = names[0]
        self._last_route = route
        self._rescope(Scope(route))

    def action_next_scope(self) -> None:
        """The route's next backend (after the last one: the route again)."""
        if self.scope.route is None:
            self.notify("The gateway has no backends of its own: r charts a route.", timeout=3)
            return
        order: list[str | None] = [None, *self._backends]
        i = order.index(self.scope.backend) if self.scope.backend in order and not self.overlay else 0
        self._rescope(Scope(self.scope.route, order[(i + 1) % len(order)]))

    def action_overlay(self) -> None:
        """Every backend of the route on one chart (o again: the route alone)."""
        route = self.scope.route or self._last_route
        if route is None:
            self.notify("Choose a route first: r charts a route.", timeout=3)
            return
        self._rescope(Scope(route), overlay=not (self.overlay and self.scope.route == route))
