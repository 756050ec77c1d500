"""NativeConnector: a real Envoy this tool runs itself, configured by file-based xDS.

The YAML file is the source of truth. An apply validates the new model, renders Envoy's files,
pushes only those that change (clusters first, then listeners, then routes; clusters no longer
used are dropped last), waits for Envoy to accept each one — or puts the previous files back and
reports Envoy's reason — and only then saves the YAML (round-trip) and records history and audit.

This module is the change logic (read, plan, apply, verify); the Envoy process (start, attach,
stop, restart, health) is its base class ``lifecycle.EnvoyLifecycle``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..base import Capabilities, ChangeHooks, GatewayInfo, Plan, RouteChange, Verification
from ..errors import (
    ChangeConflict,
    ChangeRejected,
    GatewayNotRunning,
    NothingToUndo,
    Problem,
    ValidationError,
)
from ..metrics_contract import MetricsHooks
from ..model import Gateway, Route, route_from_dict, route_to_dict
from ..model.diff import to_yaml
from . import changes, verify
from .config_file import ConfigFile
from .lifecycle import EnvoyLifecycle
from .names import cluster_name
from .process import port_problem
from .render import version_of
from .render_routes import cluster_backends
from .state import GatewayState
from .validation import beyond_loopback, native_problems, validate_change

if TYPE_CHECKING:
    from ..health import BackendHealth
    from ..shadow import ShadowLimit


TIMEBOX_FILE = "timeboxes.json"


@dataclass(frozen=True)
class _Payload:
    """What a native plan applies: the whole new model and the routes it touches."""

    gateway: Gateway
    names: tuple[str, ...]


class NativeConnector(EnvoyLifecycle):
    """A native gateway: its routes from the YAML, changes planned, pushed to Envoy and verified."""

    # -- reading --------------------------------------------------------------------------------

    def _current(self) -> ConfigFile:
        """The config file, re-read when someone changed it on disk."""
        with self._mutex:
            if self._config.changed_on_disk():
                self._config = ConfigFile.load(self.config_path)
            return self._config

    def gateway(self) -> Gateway:
        return self._current().gateway

    def info(self) -> GatewayInfo:
        details = {"config": self._state.config, "state": str(self.state_dir)}
        if self._state.pid:
            details["pid"] = str(self._state.pid)
        details["listeners"] = ", ".join(f"{k} {v}" for k, v in self._state.listeners.items())
        details["admin"] = self._state.admin_url
        # The endpoint people see (header, describe): where it serves; the admin socket's path is
        # long and only the tool talks to it.
        return GatewayInfo(self.kind, self._state.name, self.listener_url(), details)

    def list_routes(self) -> list[Route]:
        return list(self.gateway().routes)

    def cluster_names(self) -> dict[str, tuple[str, str]]:
        """Envoy cluster name -> (route, backend), for per-route, per-backend stats."""
        return {
            cluster_name(r.name, b): (r.name, b) for r in self.gateway().routes for b in cluster_backends(r)
        }

    def native_objects(self, route: str) -> str:
        gw = self.gateway()
        r = gw.route(route)
        return to_yaml(changes.route_resources(r, {b.name: b for b in gw.backends}))

    def metrics_hooks(self) -> MetricsHooks:
        return MetricsHooks(
            admin_url=lambda: self.admin_url,
            cluster_names=self.cluster_names,
            access_log_path=self.access_log_path,
        )

    # -- changing -------------------------------------------------------------------------------

    def plan(self, routes: Sequence[Route]) -> Plan:
        """Replace the routes of the same names (a route not in the gateway is added at the end)."""
        cf = self._current()
        gw = cf.gateway
        given = {r.name: r for r in routes}
        existing = {r.name for r in gw.routes}
        new_routes = [given.get(r.name, r) for r in gw.routes]
        new_routes += [r for r in routes if r.name not in existing]
        return self._plan(cf, replace(gw, routes=tuple(new_routes)))

    def plan_gateway(self, gateway: Gateway) -> Plan:
        """Plan a whole-config change (routes added or removed, backends, listeners)."""
        return self._plan(self._current(), gateway)

    def _plan(self, cf: ConfigFile, new: Gateway, *, undoes: str | None = None) -> Plan:
        old = cf.gateway
        validate_change(old, new)
        if [x.name for x in old.listeners] != [x.name for x in new.listeners] or any(
            a != b for a, b in zip(old.listeners, new.listeners, strict=False)
        ):
            for i, lst in enumerate(new.listeners):
                if lst not in old.listeners:
                    reason = port_problem(lst.address, lst.port)
                    if reason:
                        raise ValidationError(
                            [Problem(f"listeners[{i}].port", f"port {lst.port} is taken: {reason}")]
                        )
        names = changes.changed_route_names(old, new)
        before = {r.name: r for r in old.routes}
        after = {r.name: r for r in new.routes}
        route_changes = tuple(
            RouteChange(before.get(n) or _absent(n), after.get(n) or _absent(n)) for n in names
        )
        rds_only = not changes.touches_listener(old, new)
        return Plan(
            id=self.new_plan_id(),
            gateway=self.info().title,
            changes=route_changes,
            native_changes=tuple(changes.native_changes(old, new, names, self.layout)),
            base_version=cf.version,
            description=self.describe(route_changes) if route_changes else "gateway settings changed",
            warnings=tuple(changes.warnings(old, new, names, rds_only)) + beyond_loopback(old, new),
            undoes=undoes,
            payload=_Payload(new, tuple(names)),
        )

    def plan_undo(self) -> Plan:
        """Restore the routes of the last change not undone yet (re-adding or removing routes that
        change added or removed)."""
        if self._history is None:
            raise NothingToUndo("this gateway keeps no history")
        entry = self._history.last_undoable()
        if entry is None:
            raise NothingToUndo("no applied change left to undo")
        cf = self._current()
        gw = cf.gateway
        current = {r.name: r for r in gw.routes}
        now_dicts = {r.name: route_to_dict(r) for r in gw.routes}
        warnings = []
        for after in entry.after:
            now = current.get(after["name"])
            now_dict = route_to_dict(now) if now is not None else route_to_dict(_absent(after["name"]))
            if not entry.after_is(after["name"], now_dict):
                warnings.append(
                    f"route {after['name']} changed after that change; undo restores it as it was before"
                )
        # The history keeps secrets masked: each is taken back from the route as it is now.
        restored = [route_from_dict(d) for d in entry.restored(now_dicts)]
        routes = list(gw.routes)
        for r in restored:
            if not r.backends:  # the change had added this route: remove it
                routes = [x for x in routes if x.name != r.name]
            elif r.name in current:
                routes = [r if x.name == r.name else x for x in routes]
            else:
                routes.append(r)
        plan = self._plan(cf, replace(gw, routes=tuple(routes)), undoes=entry.id)
        return replace(
            plan, warnings=plan.warnings + tuple(warnings), description=f"undo {entry.description}"
        )

    def _apply(self, plan: Plan) -> str:
        payload = plan.payload
        if not isinstance(payload, _Payload):
            raise ChangeRejected("this plan was not made by the native connector")
        with self._mutex, self._lock.hold():
            cf = self._config
            if cf.changed_on_disk() or cf.version != plan.base_version:
                raise ChangeConflict(f"the config file {cf.path} changed since the plan; re-plan")
            if not self.is_running():
                raise GatewayNotRunning(self.health() or "Envoy is not running")
            state = GatewayState.read(self.state_dir)
            if state.pid != self._state.pid or state.xds_version != self._state.xds_version:
                # Another process restarted Envoy or pushed since: nothing known here is current.
                self._served = None
                self._state.xds_version = max(self._state.xds_version, state.xds_version)
            if not self._state.probe_token:
                self._state.probe_token = state.probe_token or secrets.token_hex(16)
            new = payload.gateway
            # The plan knows which routes differ from the file's model; when that model is what
            # is served (this process applied the last change), 10,000 routes need no comparing.
            known = payload.names if self._served is not None and self._served is cf.gateway else None
            version, pushed = self._deploy.push(self._served, new, known)
            # Envoy serves the change; now the YAML file (rendering it is not on the path to
            # "traffic follows": with 10,000 routes it takes longer than Envoy's reload).
            try:
                if cf.changed_on_disk():  # edited by hand while Envoy loaded the change
                    raise ChangeConflict(f"the config file {cf.path} changed during the apply; re-plan")
                cf.save(new)
            except BaseException:
                self._deploy.roll_back(pushed)
                raise
            self._served = new
            self._state.listeners = {x.name: f"{x.address}:{x.port}" for x in new.listeners}
            self._state.write(self.state_dir)
            return version

    def verify(self, plan: Plan) -> Verification:
        payload = plan.payload
        if not isinstance(payload, _Payload):
            return Verification(False, ("not a native plan",))
        return verify.check(self.admin, payload.gateway, payload.names)

    def _capabilities(self) -> Capabilities:
        return Capabilities(editable=frozenset({"weights", "rate_limit", "cors", "deny", "fault"}))

    def change_hooks(self) -> ChangeHooks:
        """Time boxes live in the state folder: any process (``revert-expired``, the reverter
        ``up`` starts beside Envoy, the demo) carries them out, also after a restart."""
        from ..timeboxes import FileTimeBoxes

        return ChangeHooks(reverts=FileTimeBoxes(self.state_dir / TIMEBOX_FILE))

    # -- incident actions (backend health, shadow limits, support bundle) ---------------------

    def backend_health(self, route: str | None = None) -> list[BackendHealth]:
        from .health import read_health

        return read_health(self, route)

    def shadow_limits(self) -> list[ShadowLimit]:
        from .shadow import read_shadow

        return read_shadow(self, self.gateway().routes)

    def bundle_parts(self, since: float) -> list[tuple[str, Callable[[], bytes]]]:
        from .bundle import native_parts

        return list(native_parts(self, self.gateway, since))

    def served_version(self) -> str | None:
        """The version_info of the routes file on disk (what Envoy serves after a successful apply)."""
        for lst in self.gateway().listeners:
            text = _read(self.layout.rds(lst.name))
            if text is not None:
                return version_of(text)
        return None


def _absent(name: str) -> Route:
    """Stands for "no such route" in a RouteChange (a route added or removed by a plan)."""
    return Route(name=name, backends=())


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


__all__ = ["NativeConnector", "native_problems"]
