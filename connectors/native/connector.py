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
    GatewayError,
    GatewayNotRunning,
    NothingToUndo,
    Problem,
    ValidationError,
)
from ..metrics_contract import MetricsHooks
from ..model import Gateway, Route, route_from_dict, route_to_dict
from ..model.diff import to_yaml
from ..model.paths import PathHandling
from . import applied, changes, journal, listener_paths, verify
from .config_file import ConfigFile
from .drift import NativeDriftCheck
from .names import cluster_name
from .process import port_problem
from .render import version_of
from .render_routes import cluster_backends
from .state import GatewayState
from .trust import TrustedGateway
from .validation import beyond_loopback, limit_edit_problems, native_problems, validate_change
from .versions import highest, on_disk

if TYPE_CHECKING:
    from ..health import BackendHealth
    from ..shadow import ShadowLimit


TIMEBOX_FILE = "timeboxes.json"


@dataclass(frozen=True)
class _Payload:
    """What a native plan applies: the whole new model and the routes it touches."""

    gateway: Gateway
    names: tuple[str, ...]


class NativeConnector(TrustedGateway):
    """A native gateway: its routes from the YAML, changes planned, pushed to Envoy and verified."""

    # -- reading --------------------------------------------------------------------------------

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

    def path_handling(self, listener: str | None = None) -> PathHandling:
        """How the listener Envoy serves treats request paths (``match`` predicts with it)."""
        return listener_paths.handling(self.layout, listener)

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

    def _planned(self, plan: Plan) -> Gateway | None:
        return plan.payload.gateway if isinstance(plan.payload, _Payload) else None

    def plan(self, routes: Sequence[Route]) -> Plan:
        """Replace the routes of the same names (a route not in the gateway is added at the end)."""
        cf = self._current()
        gw = cf.gateway
        given = {r.name: r for r in routes}
        existing = {r.name for r in gw.routes}
        new_routes = [given.get(r.name, r) for r in gw.routes]
        new_routes += [r for r in routes if r.name not in existing]
        return self._plan(cf, replace(gw, routes=tuple(new_routes)))

    def plan_restore(self, routes: Sequence[Route]) -> Plan:
        """``plan`` for routes put back as they were (undo, a time box's revert): not held to the
        burst rule for new edits."""
        cf = self._current()
        gw = cf.gateway
        given = {r.name: r for r in routes}
        existing = {r.name for r in gw.routes}
        kept = [given.get(r.name, r) for r in gw.routes] + [r for r in routes if r.name not in existing]
        return self._plan(cf, replace(gw, routes=tuple(kept)), restoring=True)

    def plan_gateway(self, gateway: Gateway) -> Plan:
        """Plan a whole-config change (routes added or removed, backends, listeners)."""
        return self._plan(self._current(), gateway)

    def _plan(
        self, cf: ConfigFile, new: Gateway, *, undoes: str | None = None, restoring: bool = False
    ) -> Plan:
        # The plan starts from what Envoy was made to serve, not from the file: a hand edit of the
        # YAML is then part of the diff (validated like any edit), never deployed unseen.
        old = self.served_model()
        validate_change(old, new)
        restoring = restoring or undoes is not None
        if not restoring and (problems := limit_edit_problems(old, new)):
            raise ValidationError(problems)  # an undo restores what was, whatever its bucket
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
        # Listeners an older version wrote (no path normalisation) are rewritten by any change.
        upgrade = listener_paths.outdated(self.layout) if new != old else []
        rds_only = not changes.touches_listener(old, new) and not upgrade
        return Plan(
            drift=self._drifted(cf.gateway, old, names),
            id=self.new_plan_id(),
            gateway=self.info().title,
            changes=route_changes,
            native_changes=tuple(changes.native_changes(old, new, names, self.layout, upgrade)),
            base_version=cf.version,
            description=self._description(old, new, route_changes),
            warnings=tuple(changes.warnings(old, new, names, rds_only, upgrade)) + beyond_loopback(old, new),
            undoes=undoes,
            payload=_Payload(new, tuple(names)),
        )

    def _description(self, old: Gateway, new: Gateway, route_changes: Sequence[RouteChange]) -> str:
        if route_changes:
            return self.describe(route_changes)
        if (old.listeners, old.backends, old.access_log, old.name) != (
            new.listeners,
            new.backends,
            new.access_log,
            new.name,
        ):
            return "gateway settings changed"
        return "no change"

    def _drifted(self, yaml: Gateway, served: Gateway, names: Sequence[str]) -> tuple[str, ...]:
        """The routes of a plan that Envoy does not serve as the YAML had them before the edit
        (hand edits of the YAML, or of the xDS files that Envoy loaded)."""
        out: list[str] = []
        if yaml is not served:
            now = {r.name: r for r in yaml.routes}
            was = {r.name: r for r in served.routes}
            out += [n for n in names if now.get(n) != was.get(n)]
            if (yaml.listeners, yaml.backends, yaml.access_log) != (
                served.listeners,
                served.backends,
                served.access_log,
            ):
                out.append("listeners/backends")
        rec = applied.Applied.read(self.state_dir)
        if rec is not None and rec.changed_files(self.layout, list(self._state.listeners)):
            out += [n for n in self.drift_report().served_routes if n not in out] or ["xDS files"]
        return tuple(out)

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
        warnings: list[str] = []
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
            self._sync_before_push()
            new = payload.gateway
            # The plan knows which routes differ from the file's model; when that model is what
            # is served (this process applied the last change), 10,000 routes need no comparing.
            known = payload.names if self._served is not None and self._served is cf.gateway else None
            try:
                version, pushed = self._deploy.push(self._served, new, known)
            except GatewayError:
                self._note_applied(cf)  # the files were put back (new versions, same config)
                raise
            # Envoy serves the change; now the YAML file (rendering it is not on the path to
            # "traffic follows": with 10,000 routes it takes longer than Envoy's reload).
            try:
                if cf.changed_on_disk():  # edited by hand while Envoy loaded the change
                    raise ChangeConflict(f"the config file {cf.path} changed during the apply; re-plan")
                prepared = self._prepared.get(plan.id)
                if prepared is not None:
                    cf.save(new, *prepared)
                else:
                    cf.save(new)
            except BaseException:
                self._deploy.roll_back(pushed)
                self._note_applied(cf)
                raise
            self._served = new
            self._state.listeners = {x.name: f"{x.address}:{x.port}" for x in new.listeners}
            self._state.write(self.state_dir)
            self._note_applied(cf)
            return version

    def _sync_before_push(self) -> None:
        """Catch up with what other processes (or a killed one) did since this one last looked."""
        state = GatewayState.read(self.state_dir)
        if state.pid != self._state.pid or state.xds_version != self._state.xds_version:
            # Another process restarted Envoy or pushed since: nothing known here is current.
            self._served = None
            self._state.xds_version = max(self._state.xds_version, state.xds_version)
        # Number past every version on disk too (a killed push leaves state.json behind them):
        # a reused number would make the probe answer "served" before Envoy loaded the file.
        on_files = on_disk(self.layout, list(self._state.listeners)).values()
        self._state.xds_version = highest(self._state.xds_version, *on_files)
        if not self._state.probe_token:
            self._state.probe_token = state.probe_token or secrets.token_hex(16)
        rec = applied.Applied.read(self.state_dir)
        if rec is None or rec.changed_files(self.layout, list(self._state.listeners)):
            self._served = None  # the files are not what this process wrote: compare them all

    def verify(self, plan: Plan) -> Verification:
        payload = plan.payload
        if not isinstance(payload, _Payload):
            return Verification(False, ("not a native plan",))
        traffic = verify.Traffic(
            dict(self._state.listeners), lambda name: self._deploy.probe(name)(), self._deploy.http
        )
        return verify.check(self.admin, payload.gateway, payload.names, traffic)

    def _capabilities(self) -> Capabilities:
        return Capabilities(editable=frozenset({"weights", "rate_limit", "cors", "deny", "fault"}))

    def change_hooks(self) -> ChangeHooks:
        """The drift check and the crash journal (``drift``, ``journal``); time boxes live in the
        state folder: any process (``revert-expired``, the supervisor ``up`` starts beside Envoy,
        the demo's reverter) carries them out, also after a restart."""
        from ..timeboxes import FileTimeBoxes
        from .reverter import unattended

        return ChangeHooks(
            drift=NativeDriftCheck(self),
            journal=journal.NativeJournal(self),
            reverts=FileTimeBoxes(self.state_dir / TIMEBOX_FILE, lambda: unattended(self.state_dir)),
        )

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
        """The routes version Envoy serves, asked from Envoy (its first listener's probe; the file's
        version when Envoy does not answer)."""
        for lst in self.gateway().listeners:
            if lst.name in self._state.listeners:
                answer = self._deploy.probe(lst.name)()
                if answer is not None:
                    return answer
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
