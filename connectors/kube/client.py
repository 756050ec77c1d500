"""A small synchronous client over the official ``kubernetes`` client for the objects the connectors use.

Every request has a timeout; 429/5xx answers, timeouts and dropped connections are retried with
exponential backoff (bounded, honouring ``Retry-After`` up to a cap) and then raise
ConnectionFailed; every other failure is translated by ``errors.translate``. A write that was
retried and then reports a conflict is checked against the server: if our change is already there
(the first attempt landed but its answer was lost) it counts as done.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from kubernetes.client import ApiClient, CoreV1Api, CustomObjectsApi, V1DeleteOptions, V1Preconditions
from kubernetes.client.exceptions import ApiException

from ..errors import ChangeConflict, ConnectionFailed, GatewayError, NotFound
from .errors import RETRYABLE_STATUS, Request, translate
from .resources import POD_LOG, JsonDict, Resource

T = TypeVar("T")
FIELD_MANAGER = "gatewayctl-tui"
JSON_PATCH = "application/json-patch+json"
PAGE_SIZE = 500  # kubectl's chunk size: big lists come in pages instead of one huge response


class KubeClient:
    """One cluster connection. Thread-safe as far as the underlying urllib3 pool is."""

    def __init__(
        self,
        api: ApiClient,
        *,
        context: str,
        user: str,
        server: str,
        timeout: tuple[float, float] = (5.0, 30.0),
        attempts: int = 4,
        backoff: float = 0.2,
        max_backoff: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.custom = CustomObjectsApi(api)
        self.core = CoreV1Api(api)
        self.context = context
        self.user = user
        self.server = server
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.counts: Counter[str] = Counter()  # requests sent, by verb (retries included)

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    # -- the retry loop -------------------------------------------------------------------

    def _call(self, request: Request, send: Callable[[], T]) -> tuple[T, int]:
        """Run ``send`` with retries; return its result and how many attempts it took."""
        last_error = ""
        for attempt in range(1, self.attempts + 1):
            self.counts[request.verb] += 1
            try:
                return send(), attempt
            except ApiException as exc:
                if exc.status not in RETRYABLE_STATUS:
                    raise
                if attempt == self.attempts:
                    raise translate(
                        exc, request, user=self.user, context=self.context, server=self.server
                    ) from exc
                self._sleep(self._delay(attempt, exc))
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                last_error = _describe_transport(exc)
                if attempt == self.attempts:
                    raise ConnectionFailed(
                        f"cannot {request.verb} {request.what}: the API server {self.server} "
                        f"did not answer after {self.attempts} attempts ({last_error})"
                    ) from exc
                self._sleep(self._delay(attempt, None))
        raise ConnectionFailed(f"cannot reach {self.server}: {last_error}")  # not reached

    def _delay(self, attempt: int, exc: ApiException | None) -> float:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        retry_after = (exc.headers or {}).get("Retry-After") if exc is not None else None
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = min(self.max_backoff, max(delay, float(retry_after)))
        return float(delay)

    def _translate(self, exc: ApiException, request: Request) -> GatewayError:
        return translate(exc, request, user=self.user, context=self.context, server=self.server)

    def _run(self, request: Request, send: Callable[[], T]) -> tuple[T, int]:
        try:
            return self._call(request, send)
        except ApiException as exc:
            raise self._translate(exc, request) from exc

    # -- custom objects -------------------------------------------------------------------

    def get(self, res: Resource, namespace: str, name: str) -> JsonDict:
        request = Request("get", res, namespace, name)
        obj, _ = self._run(
            request,
            lambda: self.custom.get_namespaced_custom_object(
                res.group, res.version, namespace, res.plural, name, _request_timeout=self.timeout
            ),
        )
        return _with_type(obj, res)

    def list_objects(self, res: Resource, namespace: str) -> list[JsonDict]:
        """Every object of ``res`` in ``namespace``, fetched in pages of PAGE_SIZE."""
        return self._paged(
            Request("list", res, namespace),
            res,
            lambda kw: self.custom.list_namespaced_custom_object(
                res.group, res.version, namespace, res.plural, **kw
            ),
        )

    def list_all(self, res: Resource) -> list[JsonDict]:
        """Every object of ``res`` in every namespace (one cluster-scope list, in pages)."""
        return self._paged(
            Request("list", res),
            res,
            lambda kw: self.custom.list_cluster_custom_object(res.group, res.version, res.plural, **kw),
        )

    def _paged(
        self, request: Request, res: Resource, call: Callable[[dict[str, Any]], Any]
    ) -> list[JsonDict]:
        """Every item of a list call, following its ``continue`` tokens page by page."""
        items: list[JsonDict] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE_SIZE, "_request_timeout": self.timeout}
            if token:
                kwargs["_continue"] = token
            page: Any
            page, _ = self._run(request, lambda kw=kwargs: call(kw))  # type: ignore[misc]
            items.extend(_with_type(o, res) for o in page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return items

    def any_object(self, res: Resource, namespace: str) -> bool:
        """Whether ``namespace`` holds at least one ``res`` (a one-item list)."""
        page: Any
        page, _ = self._run(
            Request("list", res, namespace),
            lambda: self.custom.list_namespaced_custom_object(
                res.group, res.version, namespace, res.plural, limit=1, _request_timeout=self.timeout
            ),
        )
        return bool(page.get("items"))

    def create(self, res: Resource, namespace: str, body: JsonDict) -> JsonDict:
        name = (body.get("metadata") or {}).get("name", "")

        def landed(exc: ApiException, error: GatewayError) -> JsonDict | None:
            if exc.status != 409:
                return None
            return self._landed(res, namespace, name, lambda o: _same_spec(o, body))

        obj = self._write(
            Request("create", res, namespace, name),
            lambda: self.custom.create_namespaced_custom_object(
                res.group,
                res.version,
                namespace,
                res.plural,
                body,
                field_manager=FIELD_MANAGER,
                _request_timeout=self.timeout,
            ),
            landed,
        )
        return _with_type(obj, res)

    def patch(self, res: Resource, namespace: str, name: str, ops: list[JsonDict]) -> JsonDict:
        """A JSON patch (RFC 6902); ``ops`` should start with a ``test`` of the resourceVersion."""

        def landed(exc: ApiException, error: GatewayError) -> JsonDict | None:
            if not isinstance(error, ChangeConflict):
                return None
            return self._landed(res, namespace, name, lambda o: _patch_holds(o, ops))

        obj = self._write(
            Request("patch", res, namespace, name),
            lambda: self.custom.patch_namespaced_custom_object(
                res.group,
                res.version,
                namespace,
                res.plural,
                name,
                ops,
                field_manager=FIELD_MANAGER,
                _content_type=JSON_PATCH,
                _request_timeout=self.timeout,
            ),
            landed,
        )
        return _with_type(obj, res)

    def delete(self, res: Resource, namespace: str, name: str, resource_version: str | None) -> None:
        """Delete, refused with a conflict if the object changed since ``resource_version``."""
        body = V1DeleteOptions(
            preconditions=V1Preconditions(resource_version=resource_version) if resource_version else None
        )
        self._write(
            Request("delete", res, namespace, name),
            lambda: self.custom.delete_namespaced_custom_object(
                res.group, res.version, namespace, res.plural, name, body=body, _request_timeout=self.timeout
            ),
            # The retried attempt's predecessor deleted it.
            lambda exc, error: True if exc.status == 404 else None,
        )

    def _write(
        self,
        request: Request,
        send: Callable[[], Any],
        landed: Callable[[ApiException, GatewayError], Any | None],
    ) -> Any:
        """``send`` a write with retries (``_call``). When it fails after a retry, an earlier attempt
        may have landed with its answer lost: then ``landed`` returns what that attempt left (None
        when it did not land, and the error is raised)."""
        attempts = 0

        def counted() -> Any:
            nonlocal attempts
            attempts += 1
            return send()

        try:
            obj, _ = self._call(request, counted)
        except ApiException as exc:
            error = self._translate(exc, request)
            if attempts > 1:
                found = landed(exc, error)
                if found is not None:
                    return found
            raise error from exc
        return obj

    def _landed(
        self, res: Resource, namespace: str, name: str, check: Callable[[JsonDict], bool]
    ) -> JsonDict | None:
        try:
            current = self.get(res, namespace, name)
        except (NotFound, GatewayError):
            return None
        return current if check(current) else None

    # -- core objects (read only: gateway pods and their logs, ingress Services) -----------

    def list_core(
        self, res: Resource, namespace: str, label_selector: str = "", limit: int = 100
    ) -> list[JsonDict]:
        """Pods or Services in ``namespace`` (the first ``limit``) as plain dicts, like custom objects."""
        lister = {"pods": self.core.list_namespaced_pod, "services": self.core.list_namespaced_service}[
            res.plural
        ]
        page, _ = self._run(
            Request("list", res, namespace),
            lambda: lister(
                namespace,
                label_selector=label_selector or None,
                limit=limit,
                _request_timeout=self.timeout,
            ),
        )
        data = self.api.sanitize_for_serialization(page)  # type: ignore[no-untyped-call]
        return [_with_type(o, res) for o in (data or {}).get("items") or []]

    def pod_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None,
        since_seconds: int,
        tail_lines: int,
        limit_bytes: int,
    ) -> str:
        """The newest lines of one container's log (``pods/log``), bounded by time, lines and bytes."""
        text, _ = self._run(
            Request("get", POD_LOG, namespace, name),
            lambda: self.core.read_namespaced_pod_log(
                name,
                namespace,
                container=container or None,
                since_seconds=since_seconds,
                tail_lines=tail_lines,
                limit_bytes=limit_bytes,
                _request_timeout=self.timeout,
            ),
        )
        return str(text or "")

    # -- anything else (discovery, reviews) ------------------------------------------------

    def raw(self, method: str, path: str, body: Any = None, verb: str | None = None) -> JsonDict:
        """A JSON request to ``path`` (e.g. ``/apis``) through the official client's auth and TLS."""
        request = Request(verb or method.lower(), path=path)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"

        def send() -> JsonDict:
            params = self.api.param_serialize(
                method=method,
                resource_path=path,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api.call_api(*params, _request_timeout=self.timeout)
            response.read()  # type: ignore[no-untyped-call]
            if not 200 <= response.status <= 299:
                ApiException.from_response(
                    http_resp=response, body=(response.data or b"").decode("utf-8"), data=None
                )
            data = json.loads(response.data or b"{}")
            return data if isinstance(data, dict) else {}

        result, _ = self._run(request, send)
        return result


def _with_type(obj: Any, res: Resource) -> JsonDict:
    """Objects inside a list come without apiVersion/kind; put them back so each stands alone."""
    out: JsonDict = obj if isinstance(obj, dict) else {}
    out.setdefault("apiVersion", res.api_version)
    out.setdefault("kind", res.kind)
    return out


def contains(actual: Any, expected: Any) -> bool:
    """Whether ``actual`` holds everything in ``expected`` (the server may add defaulted fields)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def _same_spec(current: JsonDict, wanted: JsonDict) -> bool:
    return all(contains(current.get(k), v) for k, v in wanted.items() if k not in ("metadata", "status"))


def _patch_holds(current: JsonDict, ops: list[JsonDict]) -> bool:
    """True when every add/replace/remove of ``ops`` is already reflected in ``current``."""
    from .patching import pointer_get

    for op in ops:
        path = op.get("path", "")
        if path.startswith("/metadata/resourceVersion"):
            continue
        found, value = pointer_get(current, path)
        if op["op"] in ("add", "replace") and (not found or not contains(value, op.get("value"))):
            return False
        if op["op"] == "remove" and found:
            return False
    return True


def _describe_transport(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "timed out" in text.lower() or isinstance(reason, urllib3.exceptions.TimeoutError):
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    return text[:200]
