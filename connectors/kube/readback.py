"""Verification by reading back: GET every written object, wait a bounded time for the controllers to
report on the new generation, and say what they report.

These reads happen after the writes, so a plan and its apply still make one write per touched
object and no reads beyond the plan's. Gateway API and Envoy Gateway controllers always report
(``Accepted``, ``ResolvedRefs``, ``Programmed``); istiod reports only when its status reporting is on,
so an Istio object is waited for only when a controller has reported on it before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import GatewayError, NotFound
from .client import _patch_holds, _same_spec
from .objects import resource_version
from .patching import ObjectChange
from .resources import JsonDict
from .status import Report, generation, has_reports, reports, settled

CONTROLLED_GROUPS = frozenset({"gateway.networking.k8s.io", "gateway.envoyproxy.io"})
FIRST_POLL_S = 0.1
MAX_POLL_S = 1.0


def controller_expected(change: ObjectChange) -> bool:
    return change.resource.group in CONTROLLED_GROUPS or has_reports(change.before)


@dataclass
class _Item:
    """One written object while it is read back: what the write answered and what is there now."""

    change: ObjectChange
    answer: JsonDict | None  # what the write returned
    current: JsonDict | None = None  # as read back
    gone: bool = False
    error: str = ""

    @property
    def waiting(self) -> bool:
        return (
            self.change.action != "delete"
            and self.current is not None
            and controller_expected(self.change)
            and not settled(self.current)
        )


@dataclass
class ReadBack:
    """Whether every written object reads back as written (and accepted by its controller)."""

    ok: bool = True
    details: list[str] = field(default_factory=list)
    reported: int = 0  # written objects a controller reported on (their new generation)
    unreported: int = 0  # written objects no controller reported on
    objects: list[tuple[ObjectChange, JsonDict | None]] = field(default_factory=list)


def _read(client: Any, item: _Item) -> None:
    c = item.change
    try:
        item.current = client.get(c.resource, c.namespace, c.name)
        item.gone, item.error = False, ""
    except NotFound:
        item.current, item.gone = None, True
    except GatewayError as exc:
        item.error = str(exc)


def read_back(
    client: Any,
    written: list[tuple[ObjectChange, JsonDict | None]],
    *,
    wait: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReadBack:
    """Read each object back (once, then again while a controller has not caught up, until ``wait``
    seconds have passed) and describe it."""
    deadline = clock() + max(0.0, wait)
    items = [_Item(change, answer) for change, answer in written]
    for item in items:
        _read(client, item)
    interval = FIRST_POLL_S
    while (pending := [i for i in items if i.waiting and not i.error]) and clock() < deadline:
        sleep(min(interval, max(0.0, deadline - clock())))
        interval = min(interval * 2, MAX_POLL_S)
        for item in pending:
            _read(client, item)
    out = ReadBack()
    for item in items:
        _describe(item, wait, out)
    return out


def _describe(item: _Item, wait: float, out: ReadBack) -> None:
    c = item.change
    if c.action == "delete":
        if item.gone:
            out.details.append(f"{c.label}: deleted")
        elif item.current is not None and (item.current.get("metadata") or {}).get("deletionTimestamp"):
            out.details.append(f"{c.label}: being deleted (waiting for its finalizers)")
        elif item.error:
            out.details.append(f"{c.label}: deleted; could not read it back ({item.error})")
        else:
            out.ok = False
            out.details.append(f"{c.label}: still exists after the delete (someone created it again?)")
        out.objects.append((c, item.current))
        return
    rv = f"resourceVersion {c.base_version or 'new'} → {resource_version(item.answer) or '?'}"
    if item.gone:
        out.ok = False
        out.details.append(f"{c.label}: {c.done} ({rv}), but it was deleted right after")
        return
    obj = item.current if item.current is not None else item.answer
    if obj is None:
        out.ok = False
        out.details.append(f"{c.label}: {c.done} ({rv}); could not read it back ({item.error})")
        return
    holds = _patch_holds(obj, list(c.ops)) if c.action == "patch" else _same_spec(obj, c.after or {})
    out.ok = out.ok and holds
    planned = "as planned" if holds else "NOT as planned (changed again since the write?)"
    out.details.append(f"{c.label}: {c.done}, {rv}, {planned}")
    if item.error:
        out.details.append(f"{c.label}: could not read it back to see its status ({item.error})")
        return
    out.objects.append((c, obj))
    _describe_status(c, obj, wait, out)


def _describe_status(c: ObjectChange, obj: JsonDict, wait: float, out: ReadBack) -> None:
    gen = generation(obj)
    found = reports(obj)
    current = [r for r in found if r.current(gen)]
    stale = [r for r in found if not r.current(gen)]
    for r in current:
        origin = r.origin()
        out.details.append(f"{c.label}: {r.summary()}" + (f" — {origin}" if origin else ""))
        failures = r.failures()
        if failures:
            out.ok = False
            out.details += [f"{c.label}: not in effect: {f}" for f in failures]
    if current:
        out.reported += 1
    else:
        out.unreported += 1
    if current and not stale:
        return
    of = f"generation {gen}" if gen is not None else "this change"
    if not found and not controller_expected(c):
        out.details.append(
            f"{c.label}: no controller reports status on this object (istiod writes status only when its "
            "status reporting is on); the API server accepted the write"
        )
        return
    if not current:
        out.details.append(
            f"{c.label}: no controller has reported on {of} yet (waited {wait:g} s); "
            "the API server accepted the write"
        )
    out.details += [f"{c.label}: {_stale(r)}" for r in stale]


def _stale(r: Report) -> str:
    return f"last report ({r.origin()}, not yet on this change): {r.summary()}"
