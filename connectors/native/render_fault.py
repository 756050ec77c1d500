"""Fault injection natively: Envoy's fault filter in the listener (only while a route of it injects a
fault, like the CORS and RBAC filters), inert there with no delay or abort of its own; each faulty
route carries its own ``HTTPFault`` in its ``typed_per_filter_config`` (RDS), which replaces the
filter's for that route. So changing a route's fault rewrites its routes file alone once the filter
is in place. The filter comes first, as in Istio's and Envoy Gateway's chains: a faulted request is
delayed or aborted before CORS, deny rules, JWT or rate limits see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model import Fault, Route, envoy_duration, envoy_json
from ..model.fault import grpc_code

FAULT_FILTER = envoy_json.FAULT_FILTER
FAULT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"


def has_fault(routes: Sequence[Route]) -> bool:
    return any(r.fault is not None for r in routes)


def fault_filters(routes: Sequence[Route]) -> list[dict[str, Any]]:
    """The listener's fault filter (no faults of its own), or nothing when no route injects one."""
    return [{"name": FAULT_FILTER, "typed_config": {"@type": FAULT_TYPE}}] if has_fault(routes) else []


def _percentage(percent: float) -> dict[str, Any]:
    if percent == int(percent):
        return {"numerator": int(percent), "denominator": "HUNDRED"}
    return {"numerator": round(percent * 10_000), "denominator": "MILLION"}


def per_route(route: Route) -> dict[str, Any] | None:
    """The route's HTTPFault, or None when it injects nothing."""
    f = route.fault
    if f is None:
        return None
    out: dict[str, Any] = {"@type": FAULT_TYPE}
    if f.delay is not None:
        out["delay"] = {"fixed_delay": envoy_duration(f.delay), "percentage": _percentage(f.delay_percent)}
    if f.abort_status is not None:
        out["abort"] = {"http_status": f.abort_status, "percentage": _percentage(f.abort_percent)}
    elif f.abort_grpc is not None:
        code = grpc_code(f.abort_grpc)
        out["abort"] = {"grpc_status": code, "percentage": _percentage(f.abort_percent)}
    return out


def served_fault(entry: dict[str, Any]) -> Fault | None:
    """The fault a served route entry injects (from ``config_dump``), in the model's terms."""
    return envoy_json.fault(entry.get("typed_per_filter_config", {}).get(FAULT_FILTER))


def fault_check(route: Route, entry: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether Envoy serves the route's fault, and a line saying what it serves (None: nothing to say)."""
    want, got = route.fault, served_fault(entry)
    if want is not None and want.abort_grpc is not None:  # served as its number
        want = Fault(
            want.delay, want.delay_percent, None, str(grpc_code(want.abort_grpc)), want.abort_percent
        )
    if got != want:
        shown = got.describe() if got else "no fault"
        return False, f"{route.name}: Envoy injects {shown}, expected {want.describe() if want else 'none'}"
    return True, f"{route.name}: fault {want.describe()}" if want is not None else None
