"""The Istio flavour: VirtualService routes (``connectors.kube.flavours``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import resources as r
from ..flavour import Flavour

if TYPE_CHECKING:
    from ..connector import KubeConnector


def _connector() -> type[KubeConnector]:
    from .connector import IstioConnector

    return IstioConnector


ISTIO = Flavour(
    name="istio",
    groups=("networking.istio.io",),
    rank=30,
    route=r.VIRTUAL_SERVICE,
    optional={
        "destinationrule": r.DESTINATION_RULE,
        "gateway": r.ISTIO_GATEWAY,
        "envoyfilter": r.ENVOY_FILTER,
        "requestauthentication": r.REQUEST_AUTHENTICATION,
        "authorizationpolicy": r.AUTHORIZATION_POLICY,
    },
    connector=_connector,
)
