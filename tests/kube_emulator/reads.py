"""GET of one object and LIST with selectors and `limit`/`continue` pagination."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from .builtin import EXTRA_FIELD_SELECTORS
from .cluster import Cluster
from .protocol import Request
from .router import Target
from .selectors import field_selector, label_selector
from .status import bad_request, expired, not_found
from .writes import served

JsonDict = dict[str, Any]
_BASE_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
_CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list."
)


def get(cluster: Cluster, target: Target) -> JsonDict:
    resource = target.resource
    obj = cluster.store.get(resource.key, target.namespace, target.name)
    if obj is None:
        raise not_found(resource.plural, resource.group, target.name)
    return served(obj, resource, target.version)


def matcher(target: Target, request: Request) -> Callable[[JsonDict], bool]:
    """Combined label and field selector predicate for a list or watch request."""
    labels = label_selector(request.param("labelSelector"))
    supported = _BASE_FIELDS | EXTRA_FIELD_SELECTORS.get(target.resource.key, frozenset())
    fields = field_selector(request.param("fieldSelector"), supported)
    return lambda obj: labels(obj) and fields(obj)


def _encode_continue(rv: int, last: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": list(last)}).encode()).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError):
        raise bad_request("continue key is not valid: invalid continue token") from None


def list_objects(cluster: Cluster, target: Target, request: Request) -> JsonDict:
    resource = target.resource
    matches = matcher(target, request)
    limit = request.int_param("limit") or 0
    token = request.param("continue")
    with cluster.store.lock:
        current = cluster.store.resource_version
        items = [obj for obj in cluster.store.objects(resource.key, target.namespace or None) if matches(obj)]
        list_rv = current
        if token:
            list_rv, start = _decode_continue(token)
            if list_rv < cluster.store.floor:
                raise expired(_CONTINUE_EXPIRED)
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start]
    metadata: JsonDict = {"resourceVersion": str(list_rv)}
    if limit and len(items) > limit:
        rest = items[limit:]
        items = items[:limit]
        last = items[-1]["metadata"]
        metadata["continue"] = _encode_continue(list_rv, (last.get("namespace", ""), last["name"]))
        metadata["remainingItemCount"] = len(rest)
    return {
        "apiVersion": target.api_version,
        "kind": resource.list_kind,
        "metadata": metadata,
        "items": [served(obj, resource, target.version) for obj in items],
    }
