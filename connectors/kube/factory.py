"""The Kubernetes connectors' entry in the registry: kubeconfig contexts as targets, and
``open_cluster``, which connects and returns the connector of the flavour the cluster serves
(``connectors.kube.flavours``) with its Prometheus wired as its metrics source.

Cheap to import: the Kubernetes client loads when a cluster is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import GatewayError
from ..factory import CliOption, ConnectorFactory, Target
from .flavours import flavour_named, pick, resources

if TYPE_CHECKING:
    from ..base import Connector
    from ..metrics import PrometheusConfig

__all__ = ["KubeFactory", "open_cluster"]

CONTEXT_PREFIX = "ctx:"


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
    forced = flavour_named(flavour) if flavour is not None else None
    from .cluster import connect

    cluster = connect(context, namespace, kubeconfig=kubeconfig)
    try:
        chosen = forced or pick(cluster)
        found = resources(cluster, chosen)
        from .connector import DEFAULT_VERIFY_WAIT_S

        wait = DEFAULT_VERIFY_WAIT_S if verify_wait is None else verify_wait
        connector = chosen.connector()(cluster, found, readonly=readonly, verify_wait=wait)
    except BaseException:
        cluster.close()
        raise
    if prometheus is not None:
        connector.wire_metrics(lambda: _prometheus_source(connector, prometheus))
    return connector


def _prometheus_source(connector: Connector, prometheus: PrometheusConfig) -> Any:
    from ..metrics import metrics_for

    return metrics_for(connector, prometheus=prometheus)


class KubeFactory(ConnectorFactory):
    """Kubernetes gateways: Istio, Envoy Gateway or plain Gateway API, picked per cluster."""

    kind: ClassVar[str] = "kube"
    title: ClassVar[str] = "Kubernetes contexts"
    empty: ClassVar[str] = "no kubeconfig contexts found"
    order: ClassVar[int] = 20
    connector_kinds: ClassVar[tuple[str, ...]] = ("istio", "envoygateway", "gatewayapi")

    def discover(self) -> list[Target]:
        """Kubeconfig contexts, as kubectl resolves them (KUBECONFIG, ~/.kube/config)."""
        from .contexts import list_contexts

        try:
            contexts = list_contexts()
        except GatewayError:  # an unreadable kubeconfig must not stop the native targets showing
            return []
        return [Target(self.kind, c.name, c.name, namespace=c.namespace, detail=c.cluster) for c in contexts]

    def resolve(self, spec: str) -> Target | None:
        """``ctx:<context>[/<namespace>]``; an empty context is kubectl's current one."""
        if not spec.startswith(CONTEXT_PREFIX):
            return None
        context, _, namespace = spec[len(CONTEXT_PREFIX) :].partition("/")
        return Target(self.kind, context, context, namespace=namespace or None)

    def open(self, target: Target, *, readonly: bool = False, **options: Any) -> Connector:
        """``options``: ``kubeconfig``, ``flavour``, ``prometheus`` (a PrometheusConfig), ``verify_wait``."""
        return open_cluster(target.location or None, target.namespace, readonly=readonly, **options)

    def cli_options(self) -> tuple[CliOption, ...]:
        return (
            CliOption(("--context",), "context", "a kubeconfig context", "CTX"),
            CliOption(("-n", "--namespace"), "namespace", "a Kubernetes namespace", "NS"),
        )
