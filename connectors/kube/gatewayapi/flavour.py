"""The Gateway API flavours: Envoy Gateway (HTTPRoutes with its policies) and plain Gateway API
(``connectors.kube.flavours``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import resources as r
from ..flavour import Flavour

if TYPE_CHECKING:
    from ..connector import KubeConnector


def _envoy_gateway() -> type[KubeConnector]:
    from .connector import EnvoyGatewayConnector

    return EnvoyGatewayConnector


def _gateway_api() -> type[KubeConnector]:
    from .connector import GatewayApiConnector

    return GatewayApiConnector


ENVOY_GATEWAY = Flavour(
    name="envoygateway",
    groups=("gateway.networking.k8s.io", "gateway.envoyproxy.io"),
    rank=20,
    route=r.HTTP_ROUTE,
    optional={
        "gateway": r.GATEWAY,
        "backendtrafficpolicy": r.BACKEND_TRAFFIC_POLICY,
        "securitypolicy": r.SECURITY_POLICY,
    },
    connector=_envoy_gateway,
    contends=True,
)

GATEWAY_API = Flavour(
    name="gatewayapi",
    groups=("gateway.networking.k8s.io",),
    rank=10,
    route=r.HTTP_ROUTE,
    optional={"gateway": r.GATEWAY},
    connector=_gateway_api,
)
