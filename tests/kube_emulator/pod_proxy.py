"""`pods/proxy`: `/api/v1/namespaces/<ns>/pods/<name>[:<port>]/proxy/<path>` forwarded to whatever a test
registered for that pod and port (`KubeEmulator.set_pod_proxy`), e.g. a real Envoy's admin endpoint.

The emulator has no pod network, so a test maps (namespace, pod, port) to a base URL on 127.0.0.1. As on
a real server the caller needs `get` on `pods/proxy`, the pod must exist, and a port nothing listens on
answers 503 ("error trying to reach service"). Only GET is forwarded; the answer's status, body and
content type come back unchanged.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING

from .protocol import Request, Response
from .status import ApiError, method_not_allowed, not_found

if TYPE_CHECKING:  # cluster.py holds a PodProxies
    from .cluster import Cluster
    from .router import Target

_TIMEOUT_S = 30.0


class PodProxies:
    """(namespace, pod, port) -> base URL of the process that plays that pod's port."""

    def __init__(self) -> None:
        self._targets: dict[tuple[str, str, int], str] = {}
        self._lock = threading.Lock()

    def set(self, namespace: str, pod: str, port: int, url: str | None) -> None:
        with self._lock:
            if url is None:
                self._targets.pop((namespace, pod, port), None)
            else:
                self._targets[(namespace, pod, port)] = url.rstrip("/")

    def find(self, namespace: str, pod: str, port: int | None) -> str | None:
        with self._lock:
            if port is not None:
                return self._targets.get((namespace, pod, port))
            ports = [url for (ns, name, _), url in self._targets.items() if (ns, name) == (namespace, pod)]
            return ports[0] if len(ports) == 1 else None


def _unreachable(pod: str, port: int | None) -> ApiError:
    where = f"{pod}:{port}" if port is not None else pod
    return ApiError(
        503,
        f"error trying to reach service: dial tcp {where}: connect: connection refused",
        "ServiceUnavailable",
    )


def pod_proxy(cluster: Cluster, proxies: PodProxies, target: Target, request: Request) -> Response:
    if request.method != "GET":
        raise method_not_allowed()
    name, _, port_text = target.name.partition(":")
    if cluster.store.get(("", "pods"), target.namespace, name) is None:
        raise not_found("pods", "", name)
    port = int(port_text) if port_text.isdigit() else None
    base = proxies.find(target.namespace, name, port)
    if base is None:
        raise _unreachable(name, port)
    query = urllib.parse.urlencode([(k, v) for k, values in request.query.items() for v in values])
    url = f"{base}/{target.proxy_path}" + (f"?{query}" if query else "")
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as answer:
            body, status, content_type = answer.read(), answer.status, answer.headers.get("Content-Type")
    except urllib.error.HTTPError as error:
        body, status, content_type = error.read(), error.code, error.headers.get("Content-Type")
    except OSError:
        raise _unreachable(name, port) from None
    return Response(status, body, content_type or "text/plain")
