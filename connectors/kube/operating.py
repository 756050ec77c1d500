"""What a Kubernetes connector does besides reading and changing routes: asking its gateway pods'
Envoys (drift, backend health, shadow-limit counters) and keeping time boxes on the objects.

``Operating`` is mixed into ``KubeConnector``; each flavour overrides where its proxies run
(``proxy_admin``, ``proxy_pod_sets``) and how their Envoy clusters map to route backends
(``cluster_targets``). The work is in ``proxies``, ``health``, ``shadow`` and ``timeboxes``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..base import ChangeHooks, Verification

if TYPE_CHECKING:
    from ..base import Connector
    from ..health import BackendHealth
    from ..shadow import ShadowLimit
    from .gateway_logs import PodSet
    from .health import HealthConnector
    from .modelled import Binding
    from .proxies import ProxiedConnector, ViewFor
    from .resources import JsonDict


class Operating:
    """Mixin of ``KubeConnector`` (``self`` is one)."""

    def proxy_admin(self) -> tuple[int, ViewFor] | None:
        """The admin port of this implementation's gateway proxies and how to read a route off their
        ``config_dump``; None when this tool does not know them (then proxies are not checked)."""
        return None

    def proxy_pod_sets(self, binding: Binding, obj: JsonDict) -> list[list[PodSet]] | str:
        """Where a route's gateway proxies run, or why they are not looked for."""
        return "its gateway proxies are not known to this tool"

    def cluster_targets(self) -> Callable[[str], list[tuple[str, str]]]:
        """Envoy cluster name → the (route, backend)s it serves (backend health); none by default."""
        return lambda cluster: []

    def proxy_status(self, route: str) -> Verification:
        """Drift between the route's objects and what its gateway pods' Envoys hold (``proxies``)."""
        from .proxies import drift

        report = drift(cast("ProxiedConnector", self), route)
        return Verification(report.converged, tuple(report.lines()))

    def backend_health(self, route: str | None = None) -> list[BackendHealth]:
        """Backend health from the gateway pods' Envoys through ``pods/proxy`` (``health``)."""
        from .health import read_health

        return read_health(cast("HealthConnector", self), route)

    def shadow_limits(self) -> list[ShadowLimit]:
        """Shadowed limits with the gateway pods' counters (``shadow``)."""
        from .shadow import read_shadow

        conn = cast("ProxiedConnector", self)
        listed = cast("Connector", self).list_routes()
        routes = [r.name for r in listed if r.rate_limit is not None and r.rate_limit.shadow]
        return read_shadow(conn, routes)

    def change_hooks(self) -> ChangeHooks:
        """Time boxes are written on the objects (``timeboxes``): whoever sees them reverts them."""
        from .timeboxes import AnnotationTimeBoxes

        return ChangeHooks(reverts=AnnotationTimeBoxes(cast("Any", self)))
