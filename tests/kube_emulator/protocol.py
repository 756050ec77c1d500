"""Transport-neutral request and response objects passed between the HTTP layer and the handlers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import protobuf
from .rbac import User
from .status import ApiError, bad_request

JsonDict = dict[str, Any]
# A streaming body: called with a "client still connected?" probe, yields chunks until done.
StreamFactory = Callable[[Callable[[], bool]], Iterator[bytes]]
_TRUE = ("true", "1")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""
    user: User | None = None

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() in _TRUE

    def int_param(self, name: str) -> int | None:
        value = self.param(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except ValueError:
            raise bad_request(f"invalid value {value!r} for query parameter {name!r}") from None

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()

    @property
    def target(self) -> str:
        """Path and query as sent (fault filters match on it)."""
        query = "&".join(f"{k}={v}" for k, values in self.query.items() for v in values)
        return f"{self.path}?{query}" if query else self.path

    def document(self) -> Any:
        """The body as JSON, or YAML or protobuf (built-ins kubectl creates) when the content type says so."""
        if not self.body:
            raise bad_request("the request body is empty")
        if self.content_type == protobuf.PROTOBUF:
            return protobuf.decode(self.body)
        try:
            if "yaml" in self.content_type:
                return yaml.safe_load(self.body)
            return json.loads(self.body)
        except (ValueError, yaml.YAMLError) as error:
            raise bad_request(f"error decoding request body: {error}") from None

    def object_body(self) -> JsonDict:
        document = self.document()
        if not isinstance(document, dict):
            raise bad_request("the request body must be an object")
        return document


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: StreamFactory | None = None  # sent with chunked transfer encoding when set

    @classmethod
    def json(cls, status: int, document: Any, headers: list[tuple[str, str]] | None = None) -> Response:
        return cls(status, json.dumps(document, separators=(",", ":")).encode(), headers=list(headers or []))

    @classmethod
    def error(cls, error: ApiError) -> Response:
        return cls.json(error.code, error.to_status(), list(error.headers.items()))

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, text.encode(), "text/plain")
