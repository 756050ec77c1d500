"""`GET .../pods/<name>/log`: container, tailLines, sinceSeconds/sinceTime, timestamps, limitBytes, follow."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from .cluster import Cluster
from .podlogs import LogLine
from .protocol import Request, Response
from .reads import get
from .router import Target
from .status import bad_request

_POLL = 0.2


def _container(cluster: Cluster, target: Target, request: Request) -> str:
    pod = get(cluster, target)
    names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    wanted = request.param("container")
    if wanted:
        if names and wanted not in names:
            raise bad_request(f"container {wanted} is not valid for pod {target.name}")
        return wanted
    if len(names) > 1:
        raise bad_request(
            f"a container name must be specified for pod {target.name}, choose one of: [{' '.join(names)}]"
        )
    return names[0] if names else ""


def _select(cluster: Cluster, lines: list[LogLine], request: Request) -> list[LogLine]:
    since_seconds = request.int_param("sinceSeconds")
    since_time = request.param("sinceTime")
    if since_seconds is not None:
        cutoff = cluster.clock() - timedelta(seconds=since_seconds)
        lines = [line for line in lines if line.time >= cutoff]
    elif since_time:
        cutoff = datetime.fromisoformat(since_time.replace("Z", "+00:00"))
        lines = [line for line in lines if line.time >= cutoff]
    tail = request.int_param("tailLines")
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return lines


def pod_log(cluster: Cluster, target: Target, request: Request) -> Response:
    container = _container(cluster, target, request)
    timestamps = request.flag("timestamps")
    lines = _select(cluster, cluster.logs.read(target.namespace, target.name, container), request)
    text = "".join(line.render(timestamps) + "\n" for line in lines)
    limit = request.int_param("limitBytes")
    if limit is not None:
        text = text.encode()[:limit].decode(errors="ignore")
    if not request.flag("follow"):
        return Response.text(200, text)
    sent = len(cluster.logs.read(target.namespace, target.name, container))

    def stream(alive: Callable[[], bool]) -> Iterator[bytes]:
        nonlocal sent
        if text:
            yield text.encode()
        while alive() and not cluster.store.closed:
            if cluster.store.get(("", "pods"), target.namespace, target.name) is None:
                return  # the pod is gone: the stream ends, as with a real container
            current = cluster.logs.read(target.namespace, target.name, container)
            if len(current) > sent:
                yield "".join(line.render(timestamps) + "\n" for line in current[sent:]).encode()
                sent = len(current)
            with cluster.logs.changed:
                cluster.logs.changed.wait(_POLL)

    return Response(200, content_type="text/plain", stream=stream)
