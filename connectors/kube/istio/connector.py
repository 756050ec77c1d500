"""The Istio connector: VirtualService routes; weights, CORS and faults in the VirtualService, rate
limits as EnvoyFilters (local rate limit), JWT read from RequestAuthentication/AuthorizationPolicy."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from ...base import EditKind
from ...errors import GatewayError, PermissionDenied, Problem
from ...metrics_contract import MetricsHooks
from ...model import Route
from ..connector import Binding, KubeConnector, Modelled
from ..gateway_logs import PodSet, read_lines
from ..proxies import ISTIO_ADMIN_PORT, ViewFor
from ..proxy_views import istio_view
from ..rbac import Access
from ..resources import SERVICE, JsonDict, ObjKey, Resource
from ..store import Store, Workspace
from . import deny, telemetry, write
from .common import ROOT_NAMESPACE
from .ratelimit import LimitSource
from .read import IstioKinds, IstioRouteInfo, model, related
from .scope import patch_reach, workloads_of


class IstioConnector(KubeConnector):
    kind: ClassVar[str] = "istio"
    route_kind: ClassVar[str] = "VirtualService"
    root_namespace: ClassVar[str] = ROOT_NAMESPACE

    @property
    def kinds(self) -> IstioKinds:
        r = self.res
        return IstioKinds(
            virtual_service=r["route"],
            destination_rule=r.get("destinationrule"),
            gateway=r.get("gateway"),
            envoy_filter=r.get("envoyfilter"),
            request_authentication=r.get("requestauthentication"),
            authorization_policy=r.get("authorizationpolicy"),
        )

    def _namespaces(self) -> list[str]:
        return list(dict.fromkeys([self.namespace, self.root_namespace]))

    def _reads(self) -> list[tuple[Resource, str]]:
        k = self.kinds
        out: list[tuple[Resource, str]] = [(k.virtual_service, self.namespace)]
        for res in (
            k.destination_rule,
            k.gateway,
            k.envoy_filter,
            k.request_authentication,
            k.authorization_policy,
        ):
            if res is not None:
                out += [(res, ns) for ns in self._namespaces()]
        return out

    def _model(self, store: Store, only: set[ObjKey] | None = None) -> Modelled:
        return model(store, self.kinds, self.namespace, self.root_namespace, only)

    def _related(self, store: Store, binding: Binding) -> list[ObjKey]:
        return related(store, self.kinds, binding, self.root_namespace)

    # -- metrics hooks (connectors.metrics_contract) and where clients reach a route --------------

    def metrics_hooks(self) -> MetricsHooks:
        return MetricsHooks(istio_destinations=self.istio_destinations, log_lines=self.gateway_log_lines)

    def _http(self, store: Store, binding: Binding) -> JsonDict | None:
        vs = store.get(binding.source) or {}
        http = (vs.get("spec") or {}).get("http") or []
        entry = http[binding.index] if binding.index < len(http) else None
        return entry if isinstance(entry, dict) else None

    def istio_destinations(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(destination_service, destination_version) → (route, backend) for ``istio_requests_total``."""
        store = self._store()
        modelled = self._modelled(store)

        def http_of(name: str) -> JsonDict | None:
            return self._http(store, modelled.bindings[name])

        return telemetry.destinations(
            modelled, http_of, store.of(self.kinds.destination_rule, self.namespace)
        )

    def proxy_admin(self) -> tuple[int, ViewFor] | None:
        return ISTIO_ADMIN_PORT, istio_view

    def cluster_targets(self) -> Callable[[str], list[tuple[str, str]]]:
        """Envoy cluster → route backends, for backend health (``connectors.kube.health``)."""
        store = self._store()
        modelled = self._modelled(store)
        return telemetry.cluster_targets(modelled, lambda name: self._http(store, modelled.bindings[name]))

    def proxy_pod_sets(self, binding: Binding, obj: JsonDict) -> list[list[PodSet]] | str:
        gateways = list(binding.context.context.gateways)
        if not gateways:
            return "a mesh route: its sidecar proxies are not checked"
        return telemetry.gateway_pods(gateways, self.root_namespace)

    def gateway_log_lines(self, since_s: float) -> list[str]:
        """The access-log lines of the last ``since_s`` seconds of the ingress gateway pods the
        VirtualServices' Gateways select (``pods/log``; Istio logs JSON with
        ``accessLogEncoding: JSON``). Raises MetricsError saying what could not be read."""
        modelled = self._modelled(self._store())
        refs = [gw for b in modelled.bindings.values() for gw in b.context.context.gateways]
        groups = telemetry.gateway_pods(refs, self.root_namespace)
        return read_lines(self.client, groups, since_s, telemetry.http_name_renamer(modelled))

    def traffic_url(self, route: Route) -> tuple[str, str] | None:
        """(base URL, Host) through the first bound Gateway whose ingress Service has an external
        address (``status.loadBalancer.ingress``); None for mesh-only routes or without one."""
        store = self._store()
        binding = self._modelled(store).bindings.get(route.name)
        gateway_kind = self.kinds.gateway
        if binding is None or gateway_kind is None:
            return None
        ctx = binding.context.context
        for ref in ctx.gateways:
            try:
                gateway = store.get(ObjKey.of(gateway_kind, ref.namespace, ref.name)) or self.client.get(
                    gateway_kind, ref.namespace, ref.name
                )
                services = [
                    svc
                    for ns in dict.fromkeys([ref.namespace, self.root_namespace])
                    for svc in self.client.list_core(SERVICE, ns)
                ]
            except GatewayError:
                continue
            found = telemetry.traffic_url(gateway, ctx.hosts, services)
            if found is not None:
                return found
        return None

    def _policy_reads(self, kinds: set[EditKind]) -> list[tuple[Resource, str]]:
        ef, ap = self.kinds.envoy_filter, self.kinds.authorization_policy
        out = []
        if "rate_limit" in kinds and ef is not None:
            out += [(ef, ns) for ns in self._namespaces()]
        if "deny" in kinds and ap is not None:
            out.append((ap, self.root_namespace))
        return out

    def _edit_problems(
        self, binding: Binding, after: Route, kinds: set[EditKind], path: str
    ) -> list[Problem]:
        out = []
        if "cors" in kinds and after.cors is not None:
            out += write.origin_problems(after.cors, path)
        if "deny" in kinds:
            out += deny.problems(binding.context.context, after.deny, path)
        return out

    def _unsupported(self) -> dict[EditKind, str]:
        out: dict[EditKind, str] = {}
        if self.kinds.envoy_filter is None:
            out["rate_limit"] = (
                "rate limits are EnvoyFilters, and envoyfilters.networking.istio.io is not served by "
                "this cluster"
            )
        if self.kinds.authorization_policy is None:
            out["deny"] = (
                "deny rules are AuthorizationPolicies, and authorizationpolicies.security.istio.io is "
                "not served by this cluster"
            )
        return out

    def _accesses(self) -> dict[EditKind, list[Access]]:
        vs = self.kinds.virtual_service
        patch_vs = Access("patch", vs, self.namespace)
        out: dict[EditKind, list[Access]] = {"weights": [patch_vs], "cors": [patch_vs], "fault": [patch_vs]}
        ef = self.kinds.envoy_filter
        if ef is not None:
            namespaces = [self.namespace]
            if any(b.context.context.gateways for b in self._modelled(self._store()).bindings.values()):
                namespaces.append(self.root_namespace)  # gateway limits live next to the gateway pods
            out["rate_limit"] = [patch_vs] + [
                Access(verb, ef, ns)
                for ns in dict.fromkeys(namespaces)
                for verb in ("create", "patch", "delete")
            ]
        ap = self.kinds.authorization_policy
        if ap is not None:  # deny rules sit next to the gateway pods, in the root namespace
            out["deny"] = [Access(v, ap, self.root_namespace) for v in ("create", "patch", "delete")]
        return out

    def _edit(
        self, ws: Workspace, binding: Binding, before: Route, after: Route, kinds: set[EditKind]
    ) -> None:
        if "weights" in kinds:
            write.set_weights(ws, binding, after)
        if "cors" in kinds:
            write.set_cors(ws, binding, after.cors)
        if "fault" in kinds:
            write.set_fault(ws, binding, after.fault)
        if "deny" in kinds:
            ap = self.kinds.authorization_policy
            assert ap is not None
            deny.write(ws, ap, after, binding.context.context, after.deny, self.root_namespace)
        if "rate_limit" in kinds:
            ef = self.kinds.envoy_filter
            assert ef is not None
            current = self._modelled(ws.base)  # the plan's fresh objects, already modelled
            fresh_binding = current.bindings[binding.route]
            infos: dict[str, IstioRouteInfo] = {n: b.context for n, b in current.bindings.items()}
            source = fresh_binding.context.limit_source
            sharers = (
                [n for n in write.route_names_by_source(infos).get(source, []) if n != binding.route]
                + self._beyond(source, ws.base)
                if source is not None
                else []
            )
            write.set_rate_limit(
                ws, ef, fresh_binding, after.rate_limit, sharers, self.root_namespace, self.affect_shared
            )

    def _beyond(self, source: LimitSource, store: Store) -> list[str]:
        """What the EnvoyFilter patch a limit comes from reaches outside this namespace's routes: the
        proxies it covers when it names no route, and the routes of other namespaces it limits."""
        ef = store.get(source.filter) or {}
        patches = (ef.get("spec") or {}).get("configPatches") or []
        out = []
        reach = patch_reach(ef, patches[source.patch], self.root_namespace) if patches else None
        if reach is not None:
            out.append(reach)
        if workloads_of(ef, self.root_namespace).namespace != self.namespace:
            out += self._routes_elsewhere(source, store)
        return out

    def _wide(self, store: Store) -> Store | None:
        """``store`` plus the VirtualServices and Gateways of every namespace (None: not allowed)."""
        k = self.kinds
        wide = store.copy()
        try:
            for res in (k.virtual_service, k.gateway):
                if res is not None:
                    for obj in self.client.list_all(res):
                        wide.put(res, obj)
        except PermissionDenied:
            return None
        return wide

    def _other_namespaces(self, store: Store) -> list[str]:
        plural = self.kinds.virtual_service.plural
        return sorted({key.namespace for key in store if key.plural == plural} - {self.namespace})

    def _routes_elsewhere(self, source: LimitSource, store: Store) -> list[str]:
        """Routes of other namespaces whose limit comes from ``source`` (cluster-wide lists)."""
        wide = self._wide(store)
        if wide is None:
            return ["possibly routes in namespaces this user cannot list"]
        out = []
        for ns in self._other_namespaces(wide):
            modelled = model(wide, self.kinds, ns, self.root_namespace)
            out += [
                f"route {name} in namespace {ns}"
                for name, b in modelled.bindings.items()
                if b.context.limit_source == source
            ]
        return out

    def _elsewhere(self, ws: Workspace) -> list[str]:
        """Routes of other namespaces whose limits change with the edited EnvoyFilters (those whose
        scope is wider than this namespace: the root namespace's)."""
        ef = self.kinds.envoy_filter
        wider = [
            key
            for key in ws.touched
            if ef is not None
            and key.plural == ef.plural
            and workloads_of(ws.get(key) or ws.base.get(key) or {}, self.root_namespace).namespace
            != self.namespace
        ]
        if not wider:
            return []
        before, after = self._wide(ws.base), self._wide(ws.view)
        if before is None or after is None:
            return ["possibly routes in namespaces this user cannot list"]
        out = []
        for ns in self._other_namespaces(before):
            old = model(before, self.kinds, ns, self.root_namespace)
            new = model(after, self.kinds, ns, self.root_namespace)
            for route in old.routes:
                now = new.route(route.name)
                if now is not None and (now.rate_limit, now.limit_rules) != (
                    route.rate_limit,
                    route.limit_rules,
                ):
                    out.append(f"route {route.name} in namespace {ns}")
        return out
