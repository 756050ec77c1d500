"""The Kubernetes flavours (Istio, Envoy Gateway, plain Gateway API) and how a cluster picks one.

Each flavour package declares a ``Flavour``: the API groups it needs, the objects it reads, its rank
and its connector class (imported only when chosen). ``pick`` goes by what the cluster serves:
the highest-ranked flavour whose API groups are all served, unless a lower one that may *contend*
finds its routes in the namespace while the top one finds none of its own (Istio and Envoy
Gateway installed side by side, a namespace of HTTPRoutes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotFound, Problem, ValidationError
from .flavour import Flavour

if TYPE_CHECKING:
    from .cluster import Cluster
    from .resources import Resource

API_GROUPS = {
    "networking.istio.io": "Istio (VirtualService, DestinationRule, EnvoyFilter)",
    "security.istio.io": "Istio security (RequestAuthentication, AuthorizationPolicy)",
    "gateway.networking.k8s.io": "Gateway API (HTTPRoute, Gateway)",
    "gateway.envoyproxy.io": "Envoy Gateway (BackendTrafficPolicy, SecurityPolicy)",
}
"""The API groups the flavours use, with what an operator knows them by."""

__all__ = ["API_GROUPS", "Flavour", "flavour_named", "flavours", "pick", "resources"]


def flavours() -> tuple[Flavour, ...]:
    """Every flavour, highest rank first."""
    from .gatewayapi.flavour import ENVOY_GATEWAY, GATEWAY_API
    from .istio.flavour import ISTIO

    return tuple(sorted((ISTIO, ENVOY_GATEWAY, GATEWAY_API), key=lambda f: -f.rank))


def flavour_named(name: str) -> Flavour:
    """Raises ValidationError naming the known flavours."""
    known = {f.name: f for f in flavours()}
    if name not in known:
        raise ValidationError([Problem("flavour", f"unknown flavour {name!r} (known: {', '.join(known)})")])
    return known[name]


def pick(cluster: Cluster) -> Flavour:
    """The flavour for what ``cluster`` serves (see the module docstring). Raises NotFound naming the
    API groups when it serves none."""
    served = [f for f in flavours() if f.served(cluster)]
    if not served:
        missing = "; ".join(f"{g} — {why}" for g, why in API_GROUPS.items())
        raise NotFound(
            f"the cluster of context {cluster.context!r} serves none of the gateway APIs this tool "
            f"operates. Missing API groups: {missing}. Install Istio, Envoy Gateway or the Gateway API "
            "CRDs, or pick another context."
        )
    top = served[0]
    contenders = [f for f in served[1:] if f.contends and f.route != top.route]
    # One list request each, and only when two flavours of different route objects are served.
    if contenders and not top.holds_routes(cluster):
        for flavour in contenders:
            if flavour.holds_routes(cluster):
                return flavour
    return top


def resources(cluster: Cluster, flavour: Flavour) -> dict[str, Resource]:
    """The objects ``flavour`` reads, as this cluster serves them (``route`` always). Raises NotFound
    when the route object's CRD or an API group is missing."""
    missing = [g for g in flavour.groups if not cluster.catalog.has_group(g)]
    if missing:
        raise NotFound(
            f"the cluster of context {cluster.context!r} lacks the CRDs the {flavour.name} connector needs: "
            + "; ".join(f"{g} — {API_GROUPS[g]}" for g in missing)
        )
    route = flavour.route
    found = cluster.catalog.resolve(route)
    if found is None:
        raise NotFound(
            f"the cluster of context {cluster.context!r} does not serve {route.qualified} "
            f"({route.kind}), which the {flavour.name} connector needs: is its CRD installed?"
        )
    out = {"route": found}
    for key, res in flavour.optional.items():
        resolved = cluster.catalog.resolve(res)
        if resolved is not None:
            out[key] = resolved
    return out
