"""Kubernetes connectors: Istio, Envoy Gateway, and plain Gateway API HTTPRoutes.

``open_cluster`` connects with a kubeconfig context (or in-cluster credentials), asks the API
server which gateway APIs it serves, and returns the matching connector. The concrete modules are
imported lazily so that listing contexts stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotFound, ValidationError
from ..errors import Problem as _Problem

if TYPE_CHECKING:
    from ..base import Connector
    from ..metrics import PrometheusConfig
    from .cluster import Cluster
    from .resources import Resource

FLAVOURS = ("istio", "envoygateway", "gatewayapi")

_WHY = {
    "networking.istio.io": "Istio (VirtualService, DestinationRule, EnvoyFilter)",
    "security.istio.io": "Istio security (RequestAuthentication, AuthorizationPolicy)",
    "gateway.networking.k8s.io": "Gateway API (HTTPRoute, Gateway)",
    "gateway.envoyproxy.io": "Envoy Gateway (BackendTrafficPolicy, SecurityPolicy)",
}


def _needed(flavour: str) -> list[str]:
    return {
        "istio": ["networking.istio.io"],
        "envoygateway": ["gateway.networking.k8s.io", "gateway.envoyproxy.io"],
        "gatewayapi": ["gateway.networking.k8s.io"],
    }[flavour]


def _resources(cluster: Cluster, flavour: str) -> dict[str, Resource]:
    from . import resources as r

    def need(res: Resource) -> Resource:
        found = cluster.catalog.resolve(res)
        if found is None:
            raise NotFound(
                f"the cluster of context {cluster.context!r} does not serve {res.qualified} "
                f"({res.kind}), which the {flavour} connector needs: is its CRD installed?"
            )
        return found

    if flavour == "istio":
        optional = {
            "destinationrule": r.DESTINATION_RULE,
            "gateway": r.ISTIO_GATEWAY,
            "envoyfilter": r.ENVOY_FILTER,
            "requestauthentication": r.REQUEST_AUTHENTICATION,
            "authorizationpolicy": r.AUTHORIZATION_POLICY,
        }
        out = {"route": need(r.VIRTUAL_SERVICE)}
    else:
        optional = {"gateway": r.GATEWAY}
        if flavour == "envoygateway":
            optional |= {
                "backendtrafficpolicy": r.BACKEND_TRAFFIC_POLICY,
                "securitypolicy": r.SECURITY_POLICY,
            }
        out = {"route": need(r.HTTP_ROUTE)}
    for key, res in optional.items():
        found = cluster.catalog.resolve(res)
        if found is not None:
            out[key] = found
    return out


def _pick(cluster: Cluster) -> str:
    has = cluster.catalog.has_group
    envoy_gateway = has("gateway.networking.k8s.io") and has("gateway.envoyproxy.io")
    if has("networking.istio.io") and envoy_gateway:
        # Both installed: go by what the namespace holds (one single-item list each).
        from . import resources as r

        vs, routes = cluster.catalog.resolve(r.VIRTUAL_SERVICE), cluster.catalog.resolve(r.HTTP_ROUTE)
        has_vs = vs is not None and cluster.client.any_object(vs, cluster.namespace)
        has_routes = routes is not None and cluster.client.any_object(routes, cluster.namespace)
        return "envoygateway" if has_routes and not has_vs else "istio"
    if has("networking.istio.io"):
        return "istio"
    if envoy_gateway:
        return "envoygateway"
    if has("gateway.networking.k8s.io"):
        return "gatewayapi"
    missing = "; ".join(f"{g} — {why}" for g, why in _WHY.items())
    raise NotFound(
        f"the cluster of context {cluster.context!r} serves none of the gateway APIs this tool operates. "
        f"Missing API groups: {missing}. Install Istio, Envoy Gateway or the Gateway API CRDs, "
        "or pick another context."
    )


def open_cluster(
    context: str | None = None,
    namespace: str | None = None,
    *,
    readonly: bool = False,
    kubeconfig: str | None = None,
    flavour: str | None = None,
    prometheus: PrometheusConfig | None = None,
    verify_wait: float | None = None,
) -> Connector:
    """Connect and return the connector for what the cluster serves (``flavour`` forces one:
    ``istio``, ``envoygateway`` or ``gatewayapi``). Raises NotFound naming missing CRDs,
    ConnectionFailed when the API server cannot be reached, PermissionDenied for bad credentials.

    ``prometheus`` is where ``connector.metrics()`` gets live figures (None: no figures);
    ``verify_wait`` is how many seconds a verification waits for the controllers to report on a
    change (default ``connector.DEFAULT_VERIFY_WAIT_S``)."""
    if flavour is not None and flavour not in FLAVOURS:
        raise ValidationError(
            [_Problem("flavour", f"unknown flavour {flavour!r} (known: {', '.join(FLAVOURS)})")]
        )
    from .cluster import connect

    cluster = connect(context, namespace, kubeconfig=kubeconfig)
    try:
        chosen = flavour or _pick(cluster)
        missing = [g for g in _needed(chosen) if not cluster.catalog.has_group(g)]
        if missing:
            raise NotFound(
                f"the cluster of context {cluster.context!r} lacks the CRDs the {chosen} connector needs: "
                + "; ".join(f"{g} — {_WHY[g]}" for g in missing)
            )
        resources = _resources(cluster, chosen)
        from .connector import DEFAULT_VERIFY_WAIT_S, KubeConnector

        cls: type[KubeConnector]
        if chosen == "istio":
            from .istio.connector import IstioConnector

            cls = IstioConnector
        else:
            from .gatewayapi.connector import EnvoyGatewayConnector, GatewayApiConnector

            cls = EnvoyGatewayConnector if chosen == "envoygateway" else GatewayApiConnector
        wait = DEFAULT_VERIFY_WAIT_S if verify_wait is None else verify_wait
        return cls(cluster, resources, readonly=readonly, prometheus=prometheus, verify_wait=wait)
    except BaseException:
        cluster.close()
        raise


__all__ = ["FLAVOURS", "open_cluster"]
