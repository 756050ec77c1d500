"""What one Kubernetes flavour declares (its flavour package makes one; ``flavours`` picks among them).

Kept apart from ``flavours`` so the flavour packages import it without importing the picker, which
imports them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cluster import Cluster
    from .connector import KubeConnector
    from .resources import Resource


@dataclass(frozen=True)
class Flavour:
    """One kind of Kubernetes gateway this tool operates."""

    name: str  # the connector's kind: istio, envoygateway, gatewayapi
    groups: tuple[str, ...]  # API groups that must all be served
    rank: int  # the higher wins when several are served
    route: Resource  # where its routes live
    optional: Mapping[str, Resource]  # other objects it reads when the cluster serves them
    connector: Callable[[], type[KubeConnector]]  # imported when chosen
    contends: bool = field(default=False)  # may win over a higher rank by holding the namespace's routes

    def served(self, cluster: Cluster) -> bool:
        return all(cluster.catalog.has_group(g) for g in self.groups)

    def holds_routes(self, cluster: Cluster) -> bool:
        found = cluster.catalog.resolve(self.route)
        return found is not None and cluster.client.any_object(found, cluster.namespace)
