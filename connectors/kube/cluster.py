"""Connecting to a cluster: kubeconfig context (as kubectl resolves it) or in-cluster service account."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration

from ..errors import ConnectionFailed, NotFound
from .client import KubeClient
from .contexts import DEFAULT_NAMESPACE, kubeconfig_paths, resolve_context
from .discovery import Catalog, discover
from .rbac import Rbac

IN_CLUSTER = "in-cluster"
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass
class Cluster:
    """A connected cluster: the client, where it points, what it serves and what the user may do."""

    client: KubeClient
    context: str
    namespace: str
    server: str
    catalog: Catalog
    rbac: Rbac

    @property
    def user(self) -> str:
        return self.rbac.user

    def close(self) -> None:
        self.client.close()


def _in_cluster_wanted(kubeconfig: str | None) -> bool:
    if kubeconfig or os.environ.get("KUBECONFIG"):
        return False
    return not any(p.exists() for p in kubeconfig_paths(None)) and bool(
        os.environ.get("KUBERNETES_SERVICE_HOST")
    )


def connect(
    context: str | None = None,
    namespace: str | None = None,
    *,
    kubeconfig: str | None = None,
    timeout: tuple[float, float] = (5.0, 30.0),
    attempts: int = 4,
    backoff: float = 0.2,
) -> Cluster:
    """Load credentials, then ask the server what it serves (one request for ``/apis``)."""
    cfg = Configuration()
    if _in_cluster_wanted(kubeconfig) and context is None:
        try:
            kube_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except kube_config.ConfigException as exc:
            raise ConnectionFailed(f"in-cluster configuration is incomplete: {exc}") from exc
        ctx_name, kube_user = IN_CLUSTER, "serviceaccount"
        try:
            default_ns = _SA_NAMESPACE.read_text(encoding="utf-8").strip() or DEFAULT_NAMESPACE
        except OSError:
            default_ns = DEFAULT_NAMESPACE
    else:
        ctx = resolve_context(context, kubeconfig)
        paths = os.pathsep.join(str(p) for p in kubeconfig_paths(kubeconfig))
        try:
            kube_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=paths, context=ctx.name, client_configuration=cfg, persist_config=False
            )
        except kube_config.ConfigException as exc:
            raise NotFound(f"kubeconfig context {ctx.name!r} cannot be used: {exc}") from exc
        ctx_name, kube_user, default_ns = ctx.name, ctx.user or "unknown", ctx.namespace
    cfg.retries = False  # KubeClient retries itself, with backoff and clear messages
    api = ApiClient(cfg)
    client = KubeClient(
        api,
        context=ctx_name,
        user=kube_user,
        server=cfg.host,
        timeout=timeout,
        attempts=attempts,
        backoff=backoff,
    )
    rbac = Rbac(client, kube_user)
    try:
        catalog = discover(client)
        client.user = rbac.user  # messages name the user as the API server knows it
    except BaseException:
        client.close()
        raise
    return Cluster(
        client=client,
        context=ctx_name,
        namespace=namespace or default_ns,
        server=cfg.host,
        catalog=catalog,
        rbac=rbac,
    )
