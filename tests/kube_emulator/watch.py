"""`?watch=true`: newline-delimited JSON events over a chunked response, like the API server's watch cache."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from .cluster import Cluster
from .protocol import Request, Response
from .reads import matcher
from .router import Target
from .status import ApiError, bad_request
from .store import StoredEvent
from .writes import served

JsonDict = dict[str, Any]
_POLL = 0.2  # how often an idle watch checks that its client is still connected


def _line(event_type: str, obj: JsonDict) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _translate(event: StoredEvent, visible: Callable[[JsonDict], bool]) -> str | None:
    """Event type as seen through a selector: objects entering it are ADDED, leaving it DELETED."""
    now = event.type != "DELETED" and visible(event.obj)
    before = event.old is not None and visible(event.old)
    if event.type == "ADDED":
        return "ADDED" if now else None
    if event.type == "DELETED":
        return "DELETED" if before else None
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


def watch(cluster: Cluster, target: Target, request: Request) -> Response:
    resource = target.resource
    selected = matcher(target, request)

    def visible(obj: JsonDict) -> bool:
        in_namespace = not target.namespace or obj["metadata"].get("namespace") == target.namespace
        return in_namespace and selected(obj)

    timeout = request.int_param("timeoutSeconds")
    start = request.param("resourceVersion")
    bookmarks = request.flag("allowWatchBookmarks")
    send_initial = request.param("sendInitialEvents") == "true"
    store = cluster.store
    if start not in (None, "", "0") and not (start or "").isdigit():
        raise bad_request(f"invalid resource version: {start}")

    def bookmark(initial_end: bool = False) -> bytes:
        metadata: JsonDict = {"resourceVersion": str(store.resource_version)}
        if initial_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        return _line(
            "BOOKMARK", {"kind": resource.kind, "apiVersion": target.api_version, "metadata": metadata}
        )

    def stream(alive: Callable[[], bool]) -> Iterator[bytes]:
        deadline = time.monotonic() + timeout if timeout else None
        with store.lock:
            if start in (None, "", "0") or send_initial:
                last = store.resource_version
                initial = [o for o in store.objects(resource.key, target.namespace or None) if visible(o)]
            else:
                last, initial = int(start), []
        for obj in initial:
            yield _line("ADDED", served(obj, resource, target.version))
        if send_initial and bookmarks:
            yield bookmark(initial_end=True)
        next_bookmark = time.monotonic() + cluster.bookmark_interval
        while alive() and not store.closed:
            try:
                with store.lock:
                    seen = store.resource_version
                    events = store.events_after(last, resource.key)
            except ApiError as error:  # history no longer reaches `last`: 410 Expired, as an ERROR event
                yield _line("ERROR", error.to_status())
                return
            for event in events:
                last = event.rv
                kind = _translate(event, visible)
                if kind is not None:
                    yield _line(kind, served(event.obj, resource, target.version))
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                if bookmarks:
                    yield bookmark()
                return
            if bookmarks and now >= next_bookmark:
                next_bookmark = now + cluster.bookmark_interval
                yield bookmark()
            with store.lock:
                if store.resource_version == seen:
                    remaining = deadline - now if deadline is not None else _POLL
                    store.wait(min(_POLL, max(remaining, 0.0)))

    return Response(200, stream=stream)
