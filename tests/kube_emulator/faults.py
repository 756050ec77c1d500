"""Fault injection (failures, delays) and the request log tests and benchmarks assert on."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .status import ApiError, injected


@dataclass
class Fault:
    """Applies to the next `remaining` requests whose target (path + query) contains `path_contains`
    and whose method is `method` (both optional filters)."""

    remaining: int
    code: int | None = None
    delay: float = 0.0
    path_contains: str | None = None
    method: str | None = None
    message: str | None = None
    retry_after: int | None = None

    def matches(self, method: str, target: str) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method.upper() == method)
            and (self.path_contains is None or self.path_contains in target)
        )


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, target: str) -> tuple[float, ApiError | None]:
        """Consume the first matching delay and the first matching failure for this request."""
        delay, error = 0.0, None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, target):
                    continue
                if fault.code is None and delay == 0.0:
                    delay = fault.delay
                    fault.remaining -= 1
                elif fault.code is not None and error is None:
                    error = injected(fault.code, fault.message)
                    if fault.retry_after is not None:
                        error.headers["Retry-After"] = str(fault.retry_after)
                    fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining > 0]
        return delay, error


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    status: int
    user: str
    body: bytes = b""
    at: float = field(default_factory=time.time)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class RequestLog:
    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def reset(self) -> None:
        with self._lock:
            self._records.clear()

    def select(self, method: str | None = None, path_contains: str | None = None) -> list[RequestRecord]:
        with self._lock:
            records = list(self._records)
        return [
            r
            for r in records
            if (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
        ]
