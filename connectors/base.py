"""The connector interface: what every gateway connector (native, istio, envoygateway) provides.

Screens and headless commands use only this interface. Every change takes one path:

    edit the model  ->  plan() (a diff of the model and of the native objects)  ->  apply_native()
    ->  verify()  ->  history + audit log

The change pipeline (``connectors.change.Change``) runs those steps, with the rebase and conflict
rule before planning; a connector supplies the steps that are its own (``plan``, ``_apply``,
``verify``, ``plan_undo``, ``export``) and may plug into the pipeline through ``change_hooks``.

The data a change is made of (``Plan``, ``Verification``, ``ApplyResult``...) lives in
``connectors.plans`` and is re-exported here; the change pipeline's hook protocols stay beside the
``Connector`` they take.

All methods block (network, files, processes); the UI calls them from worker threads. Errors are
raised as the ``connectors.errors`` tree; nothing here prints or logs secrets.
"""

from __future__ import annotations

import getpass
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .capabilities import READONLY, Capabilities, EditKind
from .errors import GatewayError, NothingToUndo, PermissionDenied
from .metrics_contract import MetricsHooks
from .plans import (
    ApplyResult,
    GatewayInfo,
    NativeChange,
    Plan,
    RouteChange,
    Verification,
    describe_change,
)

if TYPE_CHECKING:
    # Imported where they are used (a plan, an apply, an undo): the CLI and the console's worker
    # import this module before they know they will change anything.
    from .audit import AuditLog
    from .health import BackendHealth
    from .history import HistoryEntry, HistoryStore
    from .model import Route
    from .shadow import ShadowLimit
    from .timeboxes import TimeBox

__all__ = [
    "READONLY",
    "ApplyResult",
    "Capabilities",
    "Connector",
    "EditKind",
    "GatewayInfo",
    "NativeChange",
    "Plan",
    "RouteChange",
    "Verification",
    "describe_change",
]


class Connector(ABC):
    """A gateway the console can operate. Subclasses implement the abstract methods."""

    kind: ClassVar[str] = "?"
    reverts_on_sight: ClassVar[bool] = False
    """Its time boxes are kept on the gateway, not beside it: any console or CLI that connects
    carries out those that are due (``connectors.change.timebox.revert_on_sight``)."""
    _make_metrics: Callable[[], Any] | None = None  # see wire_metrics

    def __init__(
        self,
        *,
        readonly: bool = False,
        history: HistoryStore | None = None,
        audit: AuditLog | None = None,
        user: str | None = None,
    ) -> None:
        self.readonly = readonly
        self._history = history
        self._audit = audit
        self.user = user or _current_user()

    # -- reading ----------------------------------------------------------------------------

    @abstractmethod
    def info(self) -> GatewayInfo:
        """Who and where the gateway is. Raises ConnectionFailed when it cannot be reached."""

    @abstractmethod
    def list_routes(self) -> list[Route]:
        """Every route, in the gateway's order. Raises ConnectionFailed/GatewayNotRunning."""

    def get_route(self, name: str) -> Route:
        from .errors import NotFound

        for route in self.list_routes():
            if route.name == name:
                return route
        raise NotFound(f"no route named {name!r}")

    @abstractmethod
    def native_objects(self, route: str) -> str:
        """The native objects behind a route as YAML (Envoy route/cluster config, Kubernetes objects)."""

    def capabilities(self) -> Capabilities:
        return READONLY if self.readonly else self._capabilities()

    def _capabilities(self) -> Capabilities:
        return Capabilities()

    def health(self) -> str | None:
        """None when the gateway is reachable and serving, else a one-line reason."""
        try:
            self.info()
        except GatewayError as exc:
            return str(exc)
        return None

    def drift(self) -> tuple[str, ...]:
        """One line per way what the gateway serves differs from what this tool shows (its source
        edited by hand, its served config changed behind the tool's back); empty when they agree.
        Cheap enough for a status line. Nothing by default."""
        return ()

    def drift_details(self) -> tuple[str, ...]:
        """``drift()`` plus the differences themselves (diffs, what is served), for the ``drift``
        command; may read the whole served config."""
        return self.drift()

    def notices(self) -> tuple[str, ...]:
        """Lines the operator must read after connecting, e.g. how a change interrupted by a crash
        was reconciled (rolled forward or back). Nothing by default."""
        return ()

    def traffic_url(self, route: Route) -> tuple[str, str] | None:
        """Where a client reaches ``route`` through the gateway: (base URL, Host header), or None when
        this machine cannot reach the data plane (e.g. a cluster gateway without an address)."""
        return None

    def proxy_status(self, route: str) -> Verification | None:
        """Whether the gateway's proxies hold ``route`` as its objects say (drift between the objects and
        the data plane), a line per proxy asked; ``ok`` only when some were asked and all hold it. None
        when this connector does not ask its proxies. Raises NotFound for an unknown route."""
        return None

    def metrics_hooks(self) -> MetricsHooks:
        """What this gateway offers for metrics (``connectors.metrics_contract``); nothing by default."""
        return MetricsHooks()

    def wire_metrics(self, make: Callable[[], Any] | None) -> None:
        """Set how ``metrics()`` makes this gateway's source: the connector's factory wires it (a
        connector never imports the metrics package)."""
        self._make_metrics = make

    def metrics(self) -> Any:
        """The live metrics source the factory wired (``connectors.metrics.MetricsSource``), or None."""
        return self._make_metrics() if self._make_metrics is not None else None

    # -- incident actions -------------------------------------------------------------------

    def backend_health(self, route: str | None = None) -> list[BackendHealth]:
        """Per backend (of ``route``, or of every route) and endpoint: health, outlier ejections,
        circuit-breaker overflows, active against thresholds (``connectors.health``, which ranks
        them). Raises PermissionDenied where this connector cannot reach its proxies' admin."""
        raise PermissionDenied(f"the {self.kind} connector cannot read backend health yet")

    def shadow_limits(self) -> list[ShadowLimit]:
        """Each shadowed rate limit with the requests it saw and would have refused (the gateway's
        counters) and the would-be limited clients (``connectors.shadow``); [] when none."""
        return []

    def bundle_parts(self, since: float) -> list[tuple[str, Callable[[], bytes]]]:
        """This connector's own members of a support bundle (``connectors.bundle``), each a name and
        how to make its redacted content; ``since``: unix time logs start from."""
        return []

    # -- changing ---------------------------------------------------------------------------

    @abstractmethod
    def plan(self, routes: Sequence[Route]) -> Plan:
        """Validate the edited ``routes`` (replacing the routes of the same names) and return the
        diff of the model and of the native objects. Raises ValidationError with every problem."""

    @abstractmethod
    def _apply(self, plan: Plan) -> str:
        """Write the plan's native objects; return the new version. Raise ChangeRejected,
        ChangeConflict, PermissionDenied; on failure the running config must be as before."""

    @abstractmethod
    def verify(self, plan: Plan) -> Verification:
        """Check that the gateway serves what the plan wrote."""

    def apply_native(self, plan: Plan) -> str:
        """The connector's own write step of the change pipeline (``connectors.change.Change``):
        write the plan's native objects and return the new version (see ``_apply``)."""
        return self._apply(plan)

    def change_hooks(self) -> ChangeHooks:
        """Where this connector plugs into the change pipeline (drift check before planning, crash
        journal around applying, time-boxed reverts); the defaults do nothing."""

        return ChangeHooks()

    @property
    def history_store(self) -> HistoryStore | None:
        """Where applied changes are recorded (None: this gateway keeps no history)."""
        return self._history

    @property
    def audit_log(self) -> AuditLog | None:
        return self._audit

    def history(self) -> list[HistoryEntry]:
        return self._history.entries() if self._history is not None else []

    def plan_restore(self, routes: Sequence[Route]) -> Plan:
        """``plan`` for routes put back as they were (undo): the checks that only bind new edits —
        a rate-limit bucket smaller than one fill (``model.buckets``) — do not refuse what was."""
        return self.plan(routes)

    def plan_undo(self) -> Plan:
        """A plan that restores the routes of the last applied change that is not undone yet."""
        if self._history is None:
            raise NothingToUndo("this gateway keeps no history")
        entry = self._history.last_undoable()
        if entry is None:
            raise NothingToUndo("no applied change left to undo")
        from .model import route_from_dict, route_to_dict

        current = {r.name: r for r in self.list_routes()}
        now_dicts = {name: route_to_dict(r) for name, r in current.items()}
        restored = [route_from_dict(d) for d in entry.restored(now_dicts)]
        warnings = []
        for after in entry.after:
            now = current.get(after["name"])
            if now is not None and not entry.after_is(after["name"], now_dicts.get(after["name"])):
                warnings.append(
                    f"route {after['name']} changed after that change; undo restores it as it was before"
                )
        plan = self.plan_restore([_with_source(r, current) for r in restored])
        return replace(
            plan,
            undoes=entry.id,
            warnings=plan.warnings + tuple(warnings),
            # What the undo itself does (restored values), not the arrows of the change it undoes.
            description=f"undo of change {entry.id}: {plan.description}",
        )

    def export(self, plan: Plan, target: Path) -> list[Path]:
        """Write the plan's objects for review instead of applying them (clusters only)."""
        raise PermissionDenied(f"the {self.kind} connector cannot export plans")

    def close(self) -> None:
        """Release connections. A native gateway keeps running unless it was started as a demo."""
        return None

    # -- helpers for subclasses -------------------------------------------------------------

    @staticmethod
    def new_plan_id() -> str:
        return os.urandom(6).hex()

    @staticmethod
    def describe(changes: Sequence[RouteChange]) -> str:
        return "; ".join(describe_change(c.before, c.after) for c in changes)


def _with_source(route: Route, current: dict[str, Route]) -> Route:
    now = current.get(route.name)
    return replace(route, source=now.source, listener=route.listener or now.listener) if now else route


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# -- where the change pipeline's later work plugs in -------------------------------------------
# Where later work plugs into the change pipeline, each with a default that does nothing.
#
# ``Change`` calls these at fixed points; a connector returns its own from ``Connector.change_hooks()``
# (or a caller passes them to ``Change(connector, hooks=...)``):
#
#     plan_*()   DriftCheck.before_plan      before anything is planned: compare what the gateway
#                                            serves with what this tool last wrote; return warnings
#                                            for the plan, or raise (e.g. ChangeConflict) to refuse
#     apply()    Journal.intent              before the connector writes anything (crash safety: an
#                                            intent without a completion is a change to reconcile)
#                Journal.abandoned           the connector's write failed (its contract: the old
#                                            config still serves); not called when verify or record
#                                            fails after a write, so that intent stays open
#                Journal.completed           after verify and after history + audit are written
#     revert_later()  RevertScheduler.schedule   a time-boxed change: undo ``result`` after ``after_s``
#
# Hooks run on the caller's thread (a worker in the console) and may block; they must not print.


class DriftCheck(Protocol):
    def before_plan(self, connector: Connector) -> tuple[str, ...]:
        """Warnings to show with the next plan (empty when the gateway is as expected). Raise a
        ``GatewayError`` to refuse planning altogether."""
        ...


class Journal(Protocol):
    def intent(self, plan: Plan) -> None:
        """Durably note that ``plan`` is about to be written (before the first write)."""
        ...

    def completed(self, plan: Plan, entry: HistoryEntry) -> None:
        """``plan`` was written, verified and recorded as ``entry``."""
        ...

    def abandoned(self, plan: Plan, error: BaseException) -> None:
        """Writing ``plan`` failed before anything took effect; the old config serves."""
        ...


class RevertScheduler(Protocol):
    def schedule(self, connector: Connector, result: ApplyResult, after_s: float) -> None:
        """Undo ``result`` after ``after_s`` seconds unless the operator keeps it."""
        ...

    def boxes(self) -> list[TimeBox]:
        """Every time box kept, pending or done (``connectors.change.timebox.TimeBox``)."""
        ...

    def claim_due(self, now: float) -> list[TimeBox]:
        """The boxes whose time is up, claimed for reverting (``connectors.change.timebox``)."""
        ...

    def settle(self, box: TimeBox) -> None:
        """Record how a claimed box ended."""
        ...

    def unattended(self) -> str:
        """Why a due box would not be reverted by itself now (one line: who to run), or ''."""
        ...


class NoDriftCheck:
    def before_plan(self, connector: Connector) -> tuple[str, ...]:
        return ()


class NoJournal:
    def intent(self, plan: Plan) -> None:
        return None

    def completed(self, plan: Plan, entry: HistoryEntry) -> None:
        return None

    def abandoned(self, plan: Plan, error: BaseException) -> None:
        return None


class NoReverts:
    """No scheduler: asking for a time-boxed change is refused rather than silently kept forever."""

    def schedule(self, connector: Connector, result: ApplyResult, after_s: float) -> None:
        raise PermissionDenied(f"the {connector.kind} connector cannot revert a change by itself later")

    def boxes(self) -> list[TimeBox]:
        return []

    def claim_due(self, now: float) -> list[TimeBox]:
        return []

    def settle(self, box: TimeBox) -> None:
        return None

    def unattended(self) -> str:
        return ""  # nothing is ever scheduled


@dataclass(frozen=True)
class ChangeHooks:
    """The pipeline's plug-in points; every default does nothing (or refuses, for reverts)."""

    drift: DriftCheck = field(default_factory=NoDriftCheck)
    journal: Journal = field(default_factory=NoJournal)
    reverts: RevertScheduler = field(default_factory=NoReverts)
