"""Drift: the gateway's four states disagree behind the tool's back.

    last applied   what this tool last made Envoy serve (``applied``)
    YAML on disk   what the operator's file says now (a hand edit changes it)
    xDS files      what Envoy would load (a hand edit or a half-finished push changes them)
    Envoy          what it serves (``/config_dump``; its accepted versions, its routes' probe)

``check`` is the cheap look every plan, ``routes``, ``describe`` and the console header take (a
hash of the YAML, a stat per xDS file, one probe request per listener); it reads ``/config_dump``
only when something already looks off. ``full`` also reads Envoy's versions and its routes, for
``gatewayctl-tui drift``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import GatewayError
from ..model import Gateway, Route
from ..model.diff import route_diff
from . import journal, versions
from .applied import Applied
from .changes import changed_route_names
from .served import differences, envoy_views, file_views, model_views

if TYPE_CHECKING:
    from ..base import Connector
    from .trusted import Trusted

RESTORE = "deploy it with --adopt, or restore what Envoy serves (see `gatewayctl-tui drift`)"


@dataclass
class Drift:
    """What differs, each part empty when it agrees."""

    yaml_routes: list[str] = field(default_factory=list)  # YAML differs from last applied
    yaml_settings: bool = False  # listeners, backends or access log differ
    files: list[str] = field(default_factory=list)  # xDS files not as this tool wrote them
    unloaded: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # file -> (its, Envoy's)
    envoy_routes: dict[str, str] = field(default_factory=dict)  # route -> how Envoy's differs
    files_routes: dict[str, str] = field(default_factory=dict)  # route -> how the files' differ
    pending: list[str] = field(default_factory=list)  # interrupted or in-flight changes
    unknown: str = ""  # why the last applied config is not known
    diffs: list[str] = field(default_factory=list)  # unified diffs (full check only)

    @property
    def any(self) -> bool:
        return bool(
            self.yaml_routes
            or self.yaml_settings
            or self.files
            or self.unloaded
            or self.envoy_routes
            or self.files_routes
            or self.pending
        )

    @property
    def served_routes(self) -> list[str]:
        """Routes Envoy serves differently from the last applied config."""
        return list(dict.fromkeys([*self.envoy_routes, *self.files_routes]))

    def lines(self) -> list[str]:
        """One line per difference, for warnings and the console's header."""
        out = list(self.pending)
        if self.yaml_routes:
            out.append(
                "the YAML differs from what Envoy serves (edited by hand?): route(s) "
                + ", ".join(self.yaml_routes)
            )
        if self.yaml_settings:
            out.append("the YAML's listeners, backends or settings differ from what Envoy serves")
        if self.files:
            out.append("xDS file(s) changed outside this tool: " + ", ".join(self.files))
        for name, (mine, envoys) in self.unloaded.items():
            out.append(f"Envoy does not serve {name} (file version {mine}, Envoy serves {envoys or 'none'})")
        for name, how in {**self.files_routes, **self.envoy_routes}.items():
            out.append(f"route {name}: Envoy serves {how}")
        return out


def _applied_gateway(conn: Trusted) -> tuple[Applied | None, Gateway]:
    rec = Applied.read(conn.state_dir)
    return rec, conn.served_model()


def _pending(conn: Trusted, inflight: set[str]) -> list[str]:
    out = []
    for intent in journal.pending(conn.state_dir):
        if intent.plan in inflight:
            continue
        if intent.interrupted:
            what = (
                "run a command without --readonly to reconcile it"
                if conn.readonly
                else "reconciling it failed"
            )
            out.append(f"an interrupted change is not reconciled ({intent.description}): {what}")
        else:
            pid = intent.owner.split(":")[0]
            out.append(f"a change is being applied by process {pid} ({intent.description})")
    return out


def _yaml_part(drift: Drift, served: Gateway, yaml: Gateway) -> None:
    if served is yaml:
        return
    drift.yaml_routes = changed_route_names(served, yaml)
    drift.yaml_settings = (served.listeners, served.backends, served.access_log, served.name) != (
        yaml.listeners,
        yaml.backends,
        yaml.access_log,
        yaml.name,
    )


def check(conn: Trusted, inflight: set[str], *, full: bool = False) -> Drift:
    """Compare the four states (see the module docstring). Raises the YAML's own error when it
    cannot be read; an Envoy that cannot be asked is left out (``health`` says why)."""
    drift = Drift(pending=_pending(conn, inflight))
    yaml = conn._current().gateway
    rec, served = _applied_gateway(conn)
    if rec is None:
        drift.unknown = "no record of the last applied config (the gateway was started by an older version)"
    _yaml_part(drift, served, yaml)
    listeners = [x.name for x in served.listeners]
    busy = any(not i.interrupted for i in journal.pending(conn.state_dir) if i.plan not in inflight)
    if rec is not None and not busy:
        drift.files = rec.changed_files(conn.layout, listeners)
    running = conn.is_running()
    if running and not busy:
        try:
            if full or rec is None:
                drift.unloaded = {
                    p.name: v for p, v in versions.unloaded(conn.admin, conn.layout, listeners).items()
                }
            else:
                drift.unloaded = {p.name: v for p, v in conn.probe_unloaded(listeners).items()}
            if full or rec is None or drift.files or drift.unloaded:
                expected = model_views(served)
                drift.envoy_routes = differences(expected, envoy_views(conn.admin, listeners))
                drift.files_routes = (
                    {
                        k: v
                        for k, v in differences(expected, file_views(conn.layout, listeners)).items()
                        if k not in drift.envoy_routes
                    }
                    if drift.files
                    else {}
                )
        except GatewayError:
            pass  # Envoy went away meanwhile: health() says so
    if full:
        drift.diffs = _diffs(served, yaml, drift.yaml_routes)
    return drift


def _diffs(served: Gateway, yaml: Gateway, names: list[str]) -> list[str]:
    before = {r.name: r for r in served.routes}
    after = {r.name: r for r in yaml.routes}
    out = []
    for name in names:
        a: Route | None = before.get(name)
        b: Route | None = after.get(name)
        out.append(
            route_diff(a, b).replace("a/routes/", "applied/routes/").replace("b/routes/", "yaml/routes/")
        )
    return out


class NativeDriftCheck:
    """The pipeline's ``DriftCheck`` hook: the drift lines become the plan's first warnings (the
    plan itself carries the drifted routes in its diff and in ``Plan.drift``)."""

    def __init__(self, connector: Trusted) -> None:
        self.connector = connector

    def before_plan(self, connector: Connector) -> tuple[str, ...]:
        return tuple(f"drift: {line}" for line in self.connector.drift())
