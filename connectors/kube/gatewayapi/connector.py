"""Connectors over Gateway API HTTPRoutes.

``GatewayApiConnector`` works with any Gateway API implementation: weights are backendRef weights
and CORS is the standard HTTPRoute CORS filter; the Gateway API has no rate-limit or fault field, so
those are not editable. ``EnvoyGatewayConnector`` adds Envoy Gateway's policies: rate limits and
fault injection in BackendTrafficPolicies and CORS/JWT in SecurityPolicies (a rule's own CORS filter
still wins).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from ...base import EditKind
from ...errors import PermissionDenied, Problem
from ...metrics_contract import MetricsHooks
from ...model import Route
from ...shadow import ShadowLimit
from ..connector import Binding, KubeConnector, Modelled
from ..gateway_logs import PodSet, read_lines
from ..proxies import ENVOY_GATEWAY_ADMIN_PORT, ViewFor
from ..proxy_views import envoy_gateway_view
from ..rbac import Access
from ..resources import CLIENT_TRAFFIC_POLICY, JsonDict, ObjKey, Resource
from ..store import Store, Workspace
from . import deny, policies, telemetry, write
from .attach import parents
from .read import GatewayApiKinds, RuleInfo, model, related


class GatewayApiConnector(KubeConnector):
    kind: ClassVar[str] = "gatewayapi"
    route_kind: ClassVar[str] = "HTTPRoute"

    @property
    def kinds(self) -> GatewayApiKinds:
        envoy_gateway = "backendtrafficpolicy" in self.res or "securitypolicy" in self.res
        return GatewayApiKinds(
            http_route=self.res["route"],
            gateway=self.res.get("gateway"),
            backend_traffic_policy=self.res.get("backendtrafficpolicy"),
            security_policy=self.res.get("securitypolicy"),
            # Read to show which client settings reach a route; resolved here, never written.
            client_traffic_policy=self.cluster.catalog.resolve(CLIENT_TRAFFIC_POLICY)
            if envoy_gateway
            else None,
        )

    def _policy_kinds(self) -> list[Resource]:
        k = self.kinds
        found = (k.gateway, k.backend_traffic_policy, k.security_policy, k.client_traffic_policy)
        return [res for res in found if res is not None]

    def _reads(self) -> list[tuple[Resource, str]]:
        return [(res, self.namespace) for res in [self.kinds.http_route, *self._policy_kinds()]]

    def _read_all(self) -> Store:
        """Also the Gateways (and their policies) of other namespaces the routes attach to: a policy
        naming a Gateway reaches every route attached to it."""
        store = super()._read_all()
        elsewhere = {
            gw_ns
            for route in store.of(self.kinds.http_route, self.namespace)
            for gw_ns, _, _ in parents(route)
        } - {self.namespace}
        for namespace in sorted(elsewhere):
            for res in self._policy_kinds():
                store.replace_all(res, namespace, self._list_tolerant(res, namespace))
        return store

    def _model(self, store: Store, only: set[ObjKey] | None = None) -> Modelled:
        return model(store, self.kinds, self.namespace, only)

    def _related(self, store: Store, binding: Binding) -> list[ObjKey]:
        return related(store, self.kinds, binding)

    # -- metrics hooks (connectors.metrics_contract) and where clients reach a route --------------

    def metrics_hooks(self) -> MetricsHooks:
        return MetricsHooks(cluster_names=self.cluster_names, log_lines=self.gateway_log_lines)

    def cluster_names(self) -> dict[str, tuple[str, str]]:
        """Envoy cluster name → (route, backend) for Prometheus' ``envoy_cluster_*`` series."""
        return telemetry.cluster_names(self._modelled(self._store()))

    def _log_pods(self, gateways: list[tuple[str, str]]) -> list[list[PodSet]]:
        return telemetry.gateway_api_pods(gateways)

    def proxy_pod_sets(self, binding: Binding, obj: JsonDict) -> list[list[PodSet]] | str:
        return self._log_pods(telemetry.parent_gateways([obj]))

    def gateway_log_lines(self, since_s: float) -> list[str]:
        """The access-log lines of the last ``since_s`` seconds of the proxies of the Gateways this
        namespace's routes attach to (``pods/log``), route names as the model names them.
        Raises MetricsError saying what could not be read."""
        store = self._store()
        gateways = telemetry.parent_gateways(store.of(self.kinds.http_route, self.namespace))
        rename = telemetry.logged_route_renamer(self.cluster_names())
        return read_lines(self.client, self._log_pods(gateways), since_s, rename)

    def traffic_url(self, route: Route) -> tuple[str, str] | None:
        """(base URL, Host) from the parent Gateway's status address and the listener the route
        attaches to; None while no Gateway has an address."""
        store = self._store()
        binding = self._modelled(store).bindings.get(route.name)
        obj = store.get(binding.source) if binding is not None else None
        gateway_kind = self.kinds.gateway
        if obj is None or gateway_kind is None:
            return None

        def get_gateway(namespace: str, name: str) -> JsonDict:
            return self.client.get(gateway_kind, namespace, name)

        return telemetry.traffic_url(obj, get_gateway)

    def _unsupported(self) -> dict[EditKind, str]:
        return {
            "rate_limit": "the Gateway API HTTPRoute has no rate-limit field, and this cluster has no Envoy "
            "Gateway (gateway.envoyproxy.io) whose BackendTrafficPolicy could hold one",
            "fault": "the Gateway API HTTPRoute has no fault-injection field, and this cluster has no Envoy "
            "Gateway (gateway.envoyproxy.io) whose BackendTrafficPolicy could hold one",
            "deny": "the Gateway API has no authorization field, and this cluster has no Envoy Gateway "
            "(gateway.envoyproxy.io) whose SecurityPolicy could deny a client",
        }

    def _accesses(self) -> dict[EditKind, list[Access]]:
        patch = Access("patch", self.kinds.http_route, self.namespace)
        return {"weights": [patch], "cors": [patch]}

    def _edit_problems(
        self, binding: Binding, after: Route, kinds: set[EditKind], path: str
    ) -> list[Problem]:
        if "cors" in kinds and after.cors is not None:
            return write.filter_problems(after.cors, path)
        return []

    def _edit(
        self, ws: Workspace, binding: Binding, before: Route, after: Route, kinds: set[EditKind]
    ) -> None:
        if "weights" in kinds:
            write.set_weights(ws, binding, after)
        if "cors" in kinds:
            write.set_cors_filter(ws, binding, after.cors)


class EnvoyGatewayConnector(GatewayApiConnector):
    kind: ClassVar[str] = "envoygateway"
    envoy_gateway_namespace = "envoy-gateway-system"  # where Envoy Gateway runs the proxies

    def proxy_admin(self) -> tuple[int, ViewFor] | None:
        return ENVOY_GATEWAY_ADMIN_PORT, envoy_gateway_view

    def shadow_limits(self) -> list[ShadowLimit]:
        raise PermissionDenied(policies.SHADOW_WHY)

    def cluster_targets(self) -> Callable[[str], list[tuple[str, str]]]:
        """Envoy cluster → route backends, for backend health: ``httproute/<ns>/<name>/rule/<i>``
        holds the rule's backends together (``a:8080 + b:8080``), ``.../backend/<j>`` one of them."""
        modelled = self._modelled(self._store())
        names = {
            cluster: (route, backend or " + ".join(b.name for b in modelled.by_name[route].backends))
            for cluster, (route, backend) in telemetry.cluster_names(modelled).items()
        }

        def targets(cluster: str) -> list[tuple[str, str]]:
            rule, _, j = cluster.partition("/backend/")  # a weighted rule: a cluster per backendRef
            if rule not in names:
                return []
            route = names[rule][0]
            backends = modelled.by_name[route].backends
            if j.isdigit() and int(j) < len(backends):
                return [(route, backends[int(j)].name)]
            return [] if j else [names[rule]]

        return targets

    def _log_pods(self, gateways: list[tuple[str, str]]) -> list[list[PodSet]]:
        return telemetry.envoy_gateway_pods(
            gateways, self._store(), self.kinds.gateway, self.envoy_gateway_namespace
        )

    def _unsupported(self) -> dict[EditKind, str]:
        out: dict[EditKind, str] = {}
        if self.kinds.backend_traffic_policy is None:
            out["rate_limit"] = "backendtrafficpolicies.gateway.envoyproxy.io is not served by this cluster"
            out["fault"] = out["rate_limit"]
        if self.kinds.security_policy is None:
            out["deny"] = "securitypolicies.gateway.envoyproxy.io is not served by this cluster"
        return out

    def _accesses(self) -> dict[EditKind, list[Access]]:
        k = self.kinds
        patch = Access("patch", k.http_route, self.namespace)
        out: dict[EditKind, list[Access]] = {"weights": [patch], "cors": [patch]}
        for kind, res in (
            ("rate_limit", k.backend_traffic_policy),
            ("fault", k.backend_traffic_policy),
            ("cors", k.security_policy),
            ("deny", k.security_policy),
        ):
            if res is not None:
                out[kind] = [patch] + [Access(v, res, self.namespace) for v in ("create", "patch", "delete")]  # type: ignore[index]
        return out

    def _policy_reads(self, kinds: set[EditKind]) -> list[tuple[Resource, str]]:
        k = self.kinds
        out = []
        if kinds & {"rate_limit", "fault"} and k.backend_traffic_policy is not None:
            out.append((k.backend_traffic_policy, self.namespace))
        if ("cors" in kinds or "deny" in kinds) and k.security_policy is not None:
            out.append((k.security_policy, self.namespace))
        return out

    def _uses_filter(self, binding: Binding) -> bool:
        info: RuleInfo = binding.context
        return info.cors_filter or self.kinds.security_policy is None

    def _edit_problems(
        self, binding: Binding, after: Route, kinds: set[EditKind], path: str
    ) -> list[Problem]:
        out: list[Problem] = []
        if "cors" in kinds and after.cors is not None:
            if self._uses_filter(binding):
                out += write.filter_problems(after.cors, path)
            else:
                out += write.origin_problems(after.cors, path)
        if "rate_limit" in kinds and after.rate_limit is not None:
            out += policies.limit_problems(after.rate_limit, path)
        if "fault" in kinds and after.fault is not None:
            out += policies.fault_problems(after.fault, path)
        if "deny" in kinds:
            out += deny.problems(after.deny, path)
        return out

    def _edit(
        self, ws: Workspace, binding: Binding, before: Route, after: Route, kinds: set[EditKind]
    ) -> None:
        k = self.kinds
        if "weights" in kinds:
            write.set_weights(ws, binding, after)
        if "cors" in kinds:
            if self._uses_filter(binding):
                write.set_cors_filter(ws, binding, after.cors)
            else:
                assert k.security_policy is not None
                policies.set_cors(ws, k.security_policy, binding, after.cors)
        if "rate_limit" in kinds:
            assert k.backend_traffic_policy is not None
            policies.set_rate_limit(ws, k.backend_traffic_policy, binding, after.rate_limit)
        if "fault" in kinds:
            assert k.backend_traffic_policy is not None
            policies.set_fault(ws, k.backend_traffic_policy, binding, after.fault)
        if "deny" in kinds:
            assert k.security_policy is not None
            deny.write(ws, k.security_policy, binding, after.deny)
