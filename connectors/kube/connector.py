"""What every Kubernetes connector shares: read → model, plan (smallest patches), apply, verify, export.

A subclass says which objects to read, how they become routes (``_model``), and how an edit of
weights, rate limit, CORS or fault injection changes them (``_edit``). This class does the rest:

* ``plan`` re-reads only what the edit touches (the route's object; the policy lists for policy
  edits), edits private copies, re-models them to show exactly what the cluster will serve, and
  turns every touched object into its smallest write (``patching``), checked for controllers that
  would revert it (``ownership``); ``planning`` merges and checks the edits, ``plan_changes``
  finds what they change;
* ``_apply`` writes in a safe order with rollback; ``verify`` reads every written object back,
  waits (bounded by ``verify_wait``) for its controllers to report on the new generation and shows
  their conditions (``readback``), then asks the gateway pods' Envoys whether they hold the new
  traffic split, until they all do or ``proxy_wait`` passes (``proxies``);
* ``metrics_hooks`` (a subclass's) tells ``connectors.metrics.metrics_for`` what the flavour offers
  (``cluster_names`` / ``istio_destinations``, ``gateway_log_lines``); the factory that opens the
  connector wires its Prometheus, so this package never imports the metrics package.
"""

from __future__ import annotations

import re
import threading
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..audit import AuditLog
from ..base import (
    Capabilities,
    Connector,
    EditKind,
    GatewayInfo,
    NativeChange,
    Plan,
    Verification,
)
from ..errors import GatewayError, NotFound, PermissionDenied, Problem, ValidationError
from ..history import HistoryStore
from ..model import Route
from ..paths import state_dir
from .cluster import Cluster
from .export import export_changes
from .journal import Journal
from .modelled import Binding, Modelled, route_entries, unique_names
from .objects import for_review, resource_version, to_yaml
from .operating import Operating
from .patching import ObjectChange, Outcome, apply_changes
from .plan_changes import plan_writes, route_changes
from .planning import edit_kinds, merge_edits, shared_reach
from .proxies import DEFAULT_PROXY_WAIT_S, check_after_apply
from .rbac import Access
from .readback import read_back
from .resources import JsonDict, ObjKey, Resource
from .store import Store, Workspace

DEFAULT_VERIFY_WAIT_S = 5.0
"""How long ``verify`` waits for a controller to report on the generation just written."""
EDIT_KINDS: tuple[EditKind, ...] = ("weights", "rate_limit", "cors", "fault", "deny")

__all__ = [  # Binding, Modelled, route_entries, unique_names: from .modelled, as the flavours use them
    "DEFAULT_VERIFY_WAIT_S",
    "EDIT_KINDS",
    "Binding",
    "KubeConnector",
    "KubePlanPayload",
    "Modelled",
    "route_entries",
    "unique_names",
]


@dataclass(frozen=True)
class KubePlanPayload:
    """The object writes a Kubernetes plan applies, each guarded by its resourceVersion, and the
    ones RBAC forbids the user (then it is refused before anything is written)."""

    changes: tuple[ObjectChange, ...]
    denied: tuple[str, ...] = ()
    all_affected: bool = False  # made choosing to change all a shared object reaches


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", part) or "_"


class KubeConnector(Operating, Connector):
    """Base of the Istio, Envoy Gateway and Gateway API connectors."""

    kind: ClassVar[str] = "kube"
    route_kind: ClassVar[str] = "?"
    proxy_wait: float = DEFAULT_PROXY_WAIT_S
    """How long ``verify`` waits for the gateway proxies to hold a change (``proxies``)."""
    reverts_on_sight: ClassVar[bool] = True  # time boxes are annotations on the objects
    affect_shared = False  # the operator chose to change all a shared object reaches (else refused)

    def __init__(
        self,
        cluster: Cluster,
        resources: dict[str, Resource],
        *,
        readonly: bool = False,
        history: HistoryStore | None = None,
        audit: AuditLog | None = None,
        verify_wait: float = DEFAULT_VERIFY_WAIT_S,
    ) -> None:
        if history is None:
            history = HistoryStore(
                state_dir() / "kube" / _safe(cluster.context) / _safe(cluster.namespace) / "history.jsonl"
            )
        super().__init__(readonly=readonly, history=history, audit=audit or AuditLog(), user=cluster.user)
        self.cluster = cluster
        self.client = cluster.client
        self.namespace = cluster.namespace
        self.res = resources
        self.verify_wait = verify_wait
        self._lock = threading.Lock()
        self._snapshot: Store | None = None
        self._outcomes: dict[str, Outcome] = {}
        self._model_cache: list[tuple[Store, int, frozenset[ObjKey] | None, Modelled]] = []
        self._journal = Journal.beside(history)

    # -- subclass hooks ---------------------------------------------------------------------

    @abstractmethod
    def _reads(self) -> list[tuple[Resource, str]]:
        """(resource, namespace) lists that make up the full picture."""

    @abstractmethod
    def _model(self, store: Store, only: set[ObjKey] | None = None) -> Modelled:
        """Routes (and where they live) from the objects in ``store``; with ``only``, just the routes
        of those route objects (names are still made unique over all of them)."""

    @abstractmethod
    def _edit(
        self, ws: Workspace, binding: Binding, before: Route, after: Route, kinds: set[EditKind]
    ) -> None:
        """Change the objects in ``ws`` so the route reads back as ``after`` for ``kinds``."""

    def _policy_reads(self, kinds: set[EditKind]) -> list[tuple[Resource, str]]:
        """Lists to refresh before planning an edit of ``kinds`` (policies that may be created)."""
        return []

    def _accesses(self) -> dict[EditKind, list[Access]]:
        """The RBAC permissions each kind of edit needs."""
        return {}

    def _unsupported(self) -> dict[EditKind, str]:
        """Edits this flavour cannot make at all, with the reason."""
        return {}

    def _edit_problems(
        self, binding: Binding, after: Route, kinds: set[EditKind], path: str
    ) -> list[Problem]:
        """What this flavour's objects cannot express (e.g. a rate-limit interval without a unit)."""
        return []

    def _elsewhere(self, ws: Workspace) -> list[str]:  # routes of other namespaces the edit changes
        return []

    def _related(self, store: Store, binding: Binding) -> list[ObjKey]:
        """Objects shown next to the route's own object in ``native_objects``."""
        return []

    # -- reading ----------------------------------------------------------------------------

    def _modelled(self, store: Store, only: set[ObjKey] | None = None) -> Modelled:
        """``_model(store, only)``, remembered for the last few stores while they are unchanged (a
        plan models the same objects several times; 2,000 routes take a noticeable moment)."""
        scope = frozenset(only) if only is not None else None
        with self._lock:
            for cached_store, version, cached_scope, modelled in self._model_cache:
                if cached_store is store and version == store.version and cached_scope == scope:
                    return modelled
        modelled = self._model(store, only)
        with self._lock:
            self._model_cache = [(store, store.version, scope, modelled), *self._model_cache[:3]]
        return modelled

    def _read_all(self) -> Store:
        store = Store()
        for resource, namespace in self._reads():
            store.replace_all(resource, namespace, self._list_tolerant(resource, namespace))
        with self._lock:
            self._snapshot = store
        return store

    def _list_tolerant(self, resource: Resource, namespace: str) -> list[dict[str, Any]]:
        """Lists outside the connector's namespace (e.g. istio-system) may be forbidden: then they
        are simply not part of the picture."""
        from ..errors import PermissionDenied

        try:
            return self.client.list_objects(resource, namespace)
        except PermissionDenied:
            if namespace == self.namespace:
                raise
            return []

    def _store(self) -> Store:
        with self._lock:
            snapshot = self._snapshot
        return snapshot if snapshot is not None else self._read_all()

    def info(self) -> GatewayInfo:
        kinds = ", ".join(f"{r.qualified}/{r.version}" for r in self.res.values())
        return GatewayInfo(
            kind=self.kind,
            name=self.cluster.context,
            endpoint=f"{self.cluster.context}/{self.namespace}",
            details={
                "server": self.cluster.server,
                "context": self.cluster.context,
                "namespace": self.namespace,
                "user": self.cluster.user,
                "resources": kinds,
            },
        )

    def health(self) -> str | None:
        try:
            self.client.raw("GET", "/version", verb="get")
        except GatewayError as exc:
            return str(exc)
        return None

    def list_routes(self) -> list[Route]:
        return list(self._modelled(self._read_all()).routes)

    def get_route(self, name: str) -> Route:
        route = self._modelled(self._store()).route(name)
        if route is None:
            route = self._modelled(self._read_all()).route(name)
        if route is None:
            raise NotFound(f"no route named {name!r} in namespace {self.namespace}")
        return route

    def native_objects(self, route: str) -> str:
        store = self._store()
        modelled = self._modelled(store)
        binding = modelled.bindings.get(route)
        if binding is None:
            store = self._read_all()
            binding = self._modelled(store).bindings.get(route)
        if binding is None:
            raise NotFound(f"no route named {route!r} in namespace {self.namespace}")
        keys = [binding.source, *[k for k in self._related(store, binding) if k != binding.source]]
        docs = []
        for key in keys:
            obj = store.get(key)
            if obj is not None:
                docs.append(to_yaml(for_review(obj, keep_status=True)))
        return "---\n".join(docs)

    # -- capabilities -------------------------------------------------------------------------

    def _capabilities(self) -> Capabilities:
        editable: set[EditKind] = set()
        reasons: dict[str, str] = {}
        unsupported = self._unsupported()
        accesses = self._accesses()
        for kind in EDIT_KINDS:
            if kind in unsupported:
                reasons[kind] = unsupported[kind]
                continue
            denial = self.cluster.rbac.none_allowed(accesses.get(kind, []), self.res.get("route"))
            if denial:
                reasons[kind] = denial
            else:
                editable.add(kind)
        return Capabilities(editable=frozenset(editable), reasons=reasons, can_export=True)

    # -- planning -----------------------------------------------------------------------------

    def _refresh(self, base: Store, bindings: list[Binding], kinds: set[EditKind]) -> Store:
        """A copy of ``base`` with the edited routes' objects (and policy lists) read again now."""
        fresh = base.copy()
        for binding in {b.source: b for b in bindings}.values():
            resource = base.resources.get(binding.source)
            if resource is None:
                continue
            try:
                fresh.put(resource, self.client.get(resource, binding.source.namespace, binding.source.name))
            except NotFound as exc:
                raise NotFound(
                    f"{resource.kind} {binding.source.namespace}/{binding.source.name} was deleted "
                    f"since the routes were read: {exc}"
                ) from exc
        for resource, namespace in self._policy_reads(kinds):
            fresh.replace_all(resource, namespace, self._list_tolerant(resource, namespace))
        return fresh

    def plan(self, routes: Sequence[Route]) -> Plan:
        return self._plan_routes(routes, restoring=False)

    def plan_restore(self, routes: Sequence[Route]) -> Plan:
        """Undo restores exactly what was, whatever its bucket (as natively)."""
        return self._plan_routes(routes, restoring=True)

    def _plan_routes(self, routes: Sequence[Route], *, restoring: bool) -> Plan:
        requested = {r.name: r for r in routes}
        base, known = self._locate(requested)
        wanted_kinds: set[EditKind] = set()
        for name, r in requested.items():
            wanted_kinds |= edit_kinds(known.route(name), r)  # type: ignore[arg-type]
        fresh = self._refresh(base, [known.bindings[n] for n in requested], wanted_kinds)
        sources = {known.bindings[n].source for n in requested}
        # Weight and CORS edits of route objects touch nothing else: model just those objects.
        # Policy edits may reach other routes, so they compare the whole picture.
        policy_edit = bool(self._policy_reads(wanted_kinds)) or "rate_limit" in wanted_kinds
        scope = None if policy_edit else sources
        before_model = self._modelled(fresh, scope)
        edits, warnings = merge_edits(
            before_model, requested, self._unsupported(), self._edit_problems, restoring=restoring
        )

        ws, restored, stale = self._journal.workspace(
            self.client, requested, before_model, fresh, edits, self._edit
        )
        warnings += stale
        # Undo restores exactly what a change wrote: what it reached then was chosen then.
        allowed = self.affect_shared or (restored is not None and restored.all_affected)
        if restored:  # exactly the objects as they were before a journalled change: compare everything
            scope, before_model = None, self._modelled(fresh)
        if scope is not None and not set(ws.touched) <= scope:
            scope = None  # an edit reached beyond the route objects: compare everything
            before_model = self._modelled(fresh)
        written = sorted({f"{r.kind} {key.namespace}/{key.name}" for key, r in ws.touched.items()})
        after_model = self._modelled(ws.view, scope)
        changes, reach = route_changes(before_model, after_model, edits, self.route_kind, allowed, written)
        object_changes, owned = plan_writes(ws, self.res.get("route"))
        denied = self.cluster.rbac.forbidden_writes(object_changes)
        if denied:
            warnings.append(f"this plan cannot be applied with these rights: {'; '.join(denied)}")
        warnings += reach + owned + ws.warnings
        warnings += shared_reach([b.route for b, *_ in edits], [*self._elsewhere(ws), *ws.reaches], allowed)
        return Plan(
            id=self.new_plan_id(),
            gateway=self.info().title,
            changes=tuple(changes),
            native_changes=tuple(NativeChange(c.label, c.diff()) for c in object_changes),
            base_version=", ".join(f"{c.label}@{c.base_version or 'new'}" for c in object_changes),
            description=self.describe(changes) if changes else "no change",
            warnings=tuple(dict.fromkeys(warnings)),
            payload=KubePlanPayload(tuple(object_changes), tuple(denied), allowed),
        )

    def _locate(self, requested: dict[str, Route]) -> tuple[Store, Modelled]:
        """The objects and model the requested routes are in (read again when one is not known)."""
        base = self._store()
        known = self._modelled(base)
        if any(name not in known.bindings for name in requested):
            base = self._read_all()
            known = self._modelled(base)
        missing = [n for n in requested if n not in known.bindings]
        if missing:
            raise NotFound(f"no route named {', '.join(map(repr, missing))} in namespace {self.namespace}")
        return base, known

    # -- applying -------------------------------------------------------------------------------

    def _apply(self, plan: Plan) -> str:
        payload = plan.payload
        if not isinstance(payload, KubePlanPayload):
            raise ValidationError([Problem("plan", "this plan was not made by this connector")])
        if payload.denied:
            raise PermissionDenied("; ".join(payload.denied))
        outcome = apply_changes(self.client, list(payload.changes))
        self._journal.record(plan.changes, outcome.written, payload.all_affected)
        with self._lock:
            self._outcomes[plan.id] = outcome
            if self._snapshot is not None:
                for change, obj in outcome.written:
                    if obj is None:
                        self._snapshot.remove(change.key)
                    else:
                        self._snapshot.put(change.resource, obj)
        versions = [f"{c.label}@{resource_version(o)}" for c, o in outcome.written if o is not None]
        return ", ".join(versions) or "unchanged"

    def verify(self, plan: Plan) -> Verification:
        """Read every written object back and report what its controllers say about the new
        generation (waiting up to ``verify_wait`` seconds for them). Not ok when an object does not
        hold what was written or a controller refuses it (e.g. ``Accepted=False``)."""
        with self._lock:
            outcome = self._outcomes.pop(plan.id, None)
        if outcome is None:
            return Verification(True, ("nothing was written",))
        result = read_back(self.client, outcome.written, wait=self.verify_wait)
        with self._lock:
            if self._snapshot is not None:
                for change, obj in result.objects:
                    if obj is None:
                        self._snapshot.remove(change.key)
                    else:
                        self._snapshot.put(change.resource, obj)
        proxies = check_after_apply(self, plan)
        details = (*result.details, *proxies.lines())
        if proxies.converged:
            return Verification(result.ok, details, "proxies")
        why = [proxies.unconfirmed()] if proxies.checked or proxies.notes else []
        if result.reported and not result.unreported:
            return Verification(result.ok and proxies.ok, details, "controller", "; ".join(why))
        controllers = f"no controller reported within {self.verify_wait:g} s" if result.unreported else ""
        unconfirmed = "; ".join(w for w in [controllers, *why] if w)
        return Verification(result.ok and proxies.ok, details, "written", unconfirmed)

    def bindings_for(self, routes: Sequence[str]) -> dict[str, Binding]:
        """Where each named route lives now (routes that are gone are left out)."""
        bindings = self._modelled(self._store()).bindings
        return {name: bindings[name] for name in routes if name in bindings}

    def refresh(self) -> Store:
        """Read every object again now (the snapshot the next reads and plans start from)."""
        return self._read_all()

    def remember(self, resource: Resource, obj: JsonDict) -> None:
        """An object written outside a plan (a time-box annotation): the snapshot holds it as written."""
        with self._lock:
            if self._snapshot is not None:
                self._snapshot.put(resource, obj)

    def current_store(self) -> Store:
        """The objects as last read or written (read from the cluster when there is no snapshot)."""
        return self._store()

    def export(self, plan: Plan, target: Path) -> list[Path]:
        payload = plan.payload
        if not isinstance(payload, KubePlanPayload):
            raise ValidationError([Problem("plan", "this plan was not made by this connector")])
        return export_changes(list(payload.changes), target, title=plan.description)

    def close(self) -> None:
        self.cluster.close()
