"""Fault injection of a route: a fixed delay and/or an abort, each on a share of the requests, read
from and written to the model's plain data and checked against what every gateway accepts.

    fault:
      delay: 200ms
      delay_percent: 10
      abort_status: 503
      abort_percent: 5

The bounds are Envoy's (``envoy.extensions.filters.http.fault.v3.HTTPFault``), which Istio and Envoy
Gateway render into: a share is a FractionalPercent in millionths (0-100, at most 4 decimals), a
delay a Duration greater than 0 (this tool writes milliseconds, so at least 1ms), an HTTP status in
[200, 600), a gRPC status 0-16 (Istio spells it by name).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..errors import Problem
from .bounds import duration_problem
from .durations import format_duration
from .reader import Reader
from .types import Fault

# gRPC status codes by name (Istio writes ``grpcStatus: UNAVAILABLE``; Envoy wants the number).
_GRPC_NAMES = (
    "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED "
    "RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE "
    "DATA_LOSS UNAUTHENTICATED"
)
GRPC_CODES = {name: i for i, name in enumerate(_GRPC_NAMES.split())}
_KEYS = {"delay", "delay_percent", "abort_status", "abort_grpc", "abort_percent"}


def grpc_code(value: str) -> int | None:
    """``"14"`` or ``"UNAVAILABLE"`` → 14; None when it is neither a code nor a known name."""
    text = value.strip()
    if text.isdigit():
        return int(text) if int(text) <= 16 else None
    return GRPC_CODES.get(text.upper())


def percent_problem(value: float) -> str | None:
    if not math.isfinite(value) or not 0 <= value <= 100:
        return f"must be a percentage from 0 to 100, got {value:g}"
    if abs(value * 10_000 - round(value * 10_000)) > 1e-6:
        return f"at most 4 decimals (Envoy counts in millionths), got {value:g}"
    return None


def fault_problems(fault: Fault, path: str) -> list[Problem]:
    """Every reason a gateway would refuse ``fault``, each with its field."""
    out: list[Problem] = []
    has_abort = fault.abort_status is not None or fault.abort_grpc is not None
    if fault.delay is None and not has_abort:
        out.append(Problem(path, "a fault needs a delay or an abort (or remove the fault)"))
    if fault.delay is not None:
        reason = duration_problem(fault.delay)
        if fault.delay <= 0:
            reason = "must be longer than 0 (e.g. 200ms)"
        if reason:
            out.append(Problem(f"{path}.delay", reason))
        if (why := percent_problem(fault.delay_percent)) is not None:
            out.append(Problem(f"{path}.delay_percent", why))
    if fault.abort_status is not None and not 200 <= fault.abort_status <= 599:
        out.append(
            Problem(f"{path}.abort_status", f"must be an HTTP status 200-599, got {fault.abort_status}")
        )
    if fault.abort_grpc is not None and grpc_code(fault.abort_grpc) is None:
        out.append(
            Problem(f"{path}.abort_grpc", f"{fault.abort_grpc!r} is not a gRPC status (0-16 or its name)")
        )
    if fault.abort_status is not None and fault.abort_grpc is not None:
        out.append(Problem(f"{path}.abort_status", "an abort has an HTTP status or a gRPC status, not both"))
    if has_abort and (why := percent_problem(fault.abort_percent)) is not None:
        out.append(Problem(f"{path}.abort_percent", why))
    return out


def edited_fault(
    current: Fault | None,
    *,
    delay: float | bool | None = False,
    delay_percent: float | None = None,
    abort_status: int | bool | None = False,
    abort_percent: float | None = None,
) -> Fault | None:
    """``current`` with the parts named changed and the rest kept: ``delay``/``abort_status`` None
    removes that part, False (the default) keeps it; a percent alone changes the share of the part
    there is. A new part without a percent applies to every request. None when nothing is left."""
    f = current or Fault()
    if delay is None:
        f = replace(f, delay=None, delay_percent=100.0)
    elif delay is not False:
        f = replace(f, delay=float(delay))
    if delay_percent is not None:
        f = replace(f, delay_percent=delay_percent)
    if abort_status is None:
        f = replace(f, abort_status=None, abort_grpc=None, abort_percent=100.0)
    elif abort_status is not False:
        f = replace(f, abort_status=int(abort_status), abort_grpc=None)
    if abort_percent is not None:
        f = replace(f, abort_percent=abort_percent)
    return None if f.delay is None and f.abort_status is None and f.abort_grpc is None else f


def fault_from(r: Reader) -> Fault | None:
    if not r.is_mapping():
        return None
    r.unknown_keys(_KEYS)
    return Fault(
        delay=r.duration("delay", None),
        delay_percent=r.float("delay_percent", 100.0),
        abort_status=r.int("abort_status", None),
        abort_grpc=r.str("abort_grpc", None),
        abort_percent=r.float("abort_percent", 100.0),
    )


def fault_to_dict(f: Fault) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.delay is not None:
        out["delay"] = format_duration(f.delay)
        out["delay_percent"] = plain_number(f.delay_percent)
    if f.abort_status is not None:
        out["abort_status"] = f.abort_status
    if f.abort_grpc is not None:
        out["abort_grpc"] = f.abort_grpc
    if f.abort_status is not None or f.abort_grpc is not None:
        out["abort_percent"] = plain_number(f.abort_percent)
    return out


def plain_number(value: float) -> float | int:
    """10.0 is written 10, as an operator would (and as a share in a Kubernetes object)."""
    return int(value) if value == int(value) else value
