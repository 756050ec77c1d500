"""Container log lines that tests set, served by `pods/log` with tailLines / sinceSeconds / follow."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LogLine:
    time: datetime
    text: str

    def render(self, timestamps: bool) -> str:
        if not timestamps:
            return self.text
        return f"{self.time.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {self.text}"


class PodLogs:
    def __init__(self) -> None:
        self._lines: dict[tuple[str, str, str], list[LogLine]] = {}
        self.changed = threading.Condition()

    def set(self, namespace: str, pod: str, container: str, lines: Iterable[LogLine]) -> None:
        with self.changed:
            self._lines[(namespace, pod, container)] = list(lines)
            self.changed.notify_all()

    def append(self, namespace: str, pod: str, container: str, lines: Iterable[LogLine]) -> None:
        with self.changed:
            self._lines.setdefault((namespace, pod, container), []).extend(lines)
            self.changed.notify_all()

    def read(self, namespace: str, pod: str, container: str) -> list[LogLine]:
        with self.changed:
            return list(self._lines.get((namespace, pod, container), []))
