"""The embedded demo: backends, a real Envoy (native connector) and traffic, started and stopped as one.

Each part is a ``Service`` with ``start(ctx)``/``stop()``; ``DemoRunner`` starts them in order and
stops the started ones in reverse, whatever happens (an error while starting, Ctrl-C, SIGTERM,
SIGHUP). Envoy is started ``owned=True``, so even a SIGKILL of this process takes it down; the
backends and the traffic generator are threads of this process; the demo's Prometheus
(``prometheus_service``) scrapes the Envoy when the binary is installed.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from ..errors import GatewayError, ProcessStartFailed, ValidationError
from ..paths import gateways_dir, private_dir
from .backend import DemoBackend
from .config import (
    API_HOST,
    GATEWAY_NAME,
    RATE_LIMIT_BURST,
    RATE_LIMIT_REQUESTS,
    ROUTES,
    SHOP_HOST,
    demo_config_text,
    route,
    write_private,
)
from .context import CONFIG_FILE, TOKEN_FILE, DemoContext, DemoOptions, Service
from .ports import preferred_port
from .prometheus_service import PrometheusService
from .tokens import DemoIssuer
from .traffic import USERS, TrafficGenerator, TrafficStats

if TYPE_CHECKING:
    from ..native import NativeConnector

__all__ = [
    "CONFIG_FILE",
    "TOKEN_FILE",
    "BackendsService",
    "DemoContext",
    "DemoOptions",
    "DemoRunner",
    "DemoStopped",
    "GatewayService",
    "PrometheusService",
    "Service",
    "TrafficService",
    "default_services",
    "describe_traffic",
    "exit_code",
    "stop_signals",
]


class BackendsService(Service):
    name = "backends"

    def __init__(self) -> None:
        self._started: list[DemoBackend] = []

    def start(self, ctx: DemoContext) -> None:
        taken: set[int] = set()
        for name, port in ctx.options.backend_ports:
            backend = _bind_backend(name, preferred_port(port, taken))
            self._started.append(backend.start())
            ctx.backends[name] = backend
            taken.add(backend.port)

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    def describe(self, ctx: DemoContext) -> list[str]:
        return ["backends  " + ", ".join(f"{n} http://{b.address}" for n, b in ctx.backends.items())]


class GatewayService(Service):
    """The demo's native gateway: its YAML written to the state dir, Envoy owned by this process."""

    name = "envoy"

    def __init__(self) -> None:
        self._connector: NativeConnector | None = None

    def start(self, ctx: DemoContext) -> None:
        _prepare_state_dir(ctx.state_dir)
        # A token an operator can paste into curl; it dies with this run's signing key.
        write_private(ctx.token_path, ctx.issuer.token("operator", ttl=24 * 3600) + "\n")
        taken = {b.port for b in ctx.backends.values()}
        listener_port = preferred_port(ctx.options.listener_port, taken)
        stats_port = preferred_port(ctx.options.stats_port, taken | {listener_port}, reuse_addr=False)
        try:
            self._launch(ctx, listener_port, stats_port)
        except (ProcessStartFailed, ValidationError) as exc:
            # Another process took a port between the check and Envoy's bind: once more on fresh ones.
            if not any(clash in str(exc) for clash in ("already in use", "is taken")):
                raise
            self._launch(ctx, preferred_port(0, taken), 0)
        ctx.connector = self._connector
        from ..native.reverter import start_detached

        start_detached(ctx.state_dir)  # time-boxed changes (deny --for) revert even with no console

    def _launch(self, ctx: DemoContext, listener_port: int, stats_port: int) -> None:
        from ..native.factory import start

        text = demo_config_text(
            listener_port=listener_port,
            v1=ctx.backends["v1"].address,
            v2=ctx.backends["v2"].address,
            jwks=ctx.issuer.jwks,
            issuer=ctx.issuer.issuer,
            audience=ctx.issuer.audience,
        )
        write_private(ctx.config_path, text)
        self._connector = start(
            ctx.config_path,
            ctx.state_dir,
            stats_port=stats_port,
            owned=True,
            access_log_headers=ctx.options.access_log_headers,
        )

    def stop(self) -> None:
        connector, self._connector = self._connector, None
        if connector is not None:
            from ..native.reverter import stop_detached

            stop_detached(connector.state_dir)
            try:
                connector.stop()
            finally:
                connector.close()
            # The demo is ephemeral: once stopped it is no gateway to list or connect to any more.
            # (History and logs stay until the next demo run.)
            (connector.state_dir / "state.json").unlink(missing_ok=True)

    def describe(self, ctx: DemoContext) -> list[str]:
        if ctx.connector is None:
            return []
        return [
            f"listener  {ctx.connector.listener_url()}  (hosts {SHOP_HOST}, {API_HOST})",
            f"admin     {ctx.connector.admin_url}  (Unix socket: only you can open it)",
            f"metrics   {ctx.connector.stats_url}",
            f"state     {ctx.state_dir}",
            f"          config {CONFIG_FILE}, access log {ctx.connector.access_log_path.name}",
        ]


class TrafficService(Service):
    name = "traffic"

    def __init__(self) -> None:
        self._generator: TrafficGenerator | None = None

    def start(self, ctx: DemoContext) -> None:
        self._generator = TrafficGenerator(
            ctx.listener_url,
            token=lambda user: ctx.issuer.token(user),
            rate=ctx.options.traffic_rate,
            burst_every=ctx.options.burst_every,
        ).start()
        ctx.traffic = self._generator

    def stop(self) -> None:
        generator, self._generator = self._generator, None
        if generator is not None:
            generator.stop()

    def describe(self, ctx: DemoContext) -> list[str]:
        o = ctx.options
        return [
            f"traffic   ~{o.traffic_rate:g} req/s over {len(ROUTES)} routes as {len(USERS)} users; "
            f"{2 * RATE_LIMIT_BURST}-request bursts on api-limited every {o.burst_every:g}s "
            f"(limit {RATE_LIMIT_REQUESTS}/s, burst {RATE_LIMIT_BURST})"
        ]


def default_services(options: DemoOptions) -> list[Service]:
    services: list[Service] = [BackendsService(), GatewayService(), PrometheusService()]
    if options.traffic:
        services.append(TrafficService())
    return services


class DemoRunner:
    """Start every service in order; stop the started ones in reverse, exactly once."""

    def __init__(self, options: DemoOptions | None = None, services: Sequence[Service] | None = None) -> None:
        self.options = options or DemoOptions()
        self.services = list(services) if services is not None else default_services(self.options)
        self._started: list[Service] = []
        self.ctx: DemoContext | None = None

    def start(self) -> DemoContext:
        state_dir = self.options.state_dir or gateways_dir() / GATEWAY_NAME
        self.ctx = DemoContext(options=self.options, state_dir=state_dir, issuer=DemoIssuer())
        try:
            for service in self.services:
                self._started.append(service)  # before start: a half-started service is stopped too
                service.start(self.ctx)
        except BaseException:
            self.stop()
            raise
        return self.ctx

    def stop(self) -> list[str]:
        """Stop everything started; return a line per service that failed to stop cleanly."""
        problems = []
        while self._started:
            service = self._started.pop()
            try:
                service.stop()
            except (GatewayError, OSError) as exc:
                problems.append(f"{service.name}: {exc}")
        return problems

    def banner(self) -> list[str]:
        if self.ctx is None:
            return []
        ctx = self.ctx
        lines = [f'The demo gateway "{GATEWAY_NAME}" is running.']
        for service in self.services:
            lines += ["  " + line for line in service.describe(ctx)]
        url = ctx.listener_url
        gateway_arg = GATEWAY_NAME if ctx.state_dir == gateways_dir() / GATEWAY_NAME else str(ctx.state_dir)
        jwt = route("api-jwt")
        lines += [
            "Try:",
            f"  curl -H 'Host: {SHOP_HOST}' {url}/",
            f"  curl -i -H 'Host: {API_HOST}' {url}{jwt.path}      # 401: no token",
            f"  curl -H 'Host: {API_HOST}' -H \"Authorization: Bearer $(cat {ctx.token_path})\" \\",
            f"       {url}{jwt.path}",
            f"  gatewayctl-tui routes --gateway {gateway_arg}      # from another terminal",
            f"  gatewayctl-tui set-weights shop v1=50 v2=50 --gateway {gateway_arg}",
        ]
        return lines

    def traffic_summary(self) -> str:
        stats = self.ctx.traffic.stats if self.ctx is not None and self.ctx.traffic is not None else None
        return describe_traffic(stats) if stats is not None else "no demo traffic sent"

    def __enter__(self) -> DemoContext:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def describe_traffic(stats: TrafficStats) -> str:
    codes = ", ".join(
        f"{'no answer' if code == 0 else code}: {n}" for code, n in sorted(stats.by_status.items())
    )
    return f"demo traffic: {stats.sent} requests ({codes or 'none'}), {stats.bursts} bursts"


class DemoStopped(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM/SIGHUP so ``finally`` blocks stop every service."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextlib.contextmanager
def stop_signals(on_first: Callable[[int], bool] | None = None) -> Iterator[None]:
    """Turn SIGTERM, SIGHUP and SIGINT into an orderly stop.

    The first signal calls ``on_first(signum)``, which returns True when it has arranged a stop itself
    (e.g. asked the console to quit); otherwise, or on the next signal, DemoStopped is raised in the
    main thread. Signals after that are ignored so they cannot interrupt the cleanup itself.
    """
    asked = raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal asked, raised
        if raised:
            return
        if not asked and on_first is not None:
            asked = True
            if on_first(signum):
                return
        raised = True
        raise DemoStopped(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal."""
    return 128 + signum


def _bind_backend(name: str, port: int) -> DemoBackend:
    try:
        return DemoBackend(name, port)
    except OSError:
        return DemoBackend(name, 0)  # taken between the check and the bind


def _prepare_state_dir(state_dir: Path) -> None:
    """Refuse while another demo runs from ``state_dir``; otherwise start from a clean directory, so
    the history and config of an earlier run never mix with this one."""
    if (state_dir / "state.json").exists():
        from ..native.factory import attach

        running = False
        try:
            existing = attach(state_dir)
            try:
                running = existing.is_running()
            finally:
                existing.close()
        except GatewayError:
            running = False
        if running:
            raise ProcessStartFailed(
                f"a demo gateway is already running from {state_dir}; stop it first "
                f"(gatewayctl-tui down {state_dir}) or start this one with --state-dir"
            )
    if state_dir.is_dir() and ((state_dir / CONFIG_FILE).exists() or (state_dir / "state.json").exists()):
        shutil.rmtree(state_dir)
    private_dir(state_dir)
