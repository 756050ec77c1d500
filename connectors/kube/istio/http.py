"""One VirtualService ``http[]`` entry → the parts of a model route it holds by itself: matches,
destinations, CORS, retries (as written), mirror, header changes and fault injection."""

from __future__ import annotations

from typing import Any

from ...model import (
    Cors,
    Fault,
    HeaderMatch,
    HeaderOps,
    HeaderRewrite,
    Mirror,
    Retries,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)
from ..resources import JsonDict
from .common import destination_name
from .ratelimit import duration


def string_match(m: Any) -> StringMatch | None:
    if not isinstance(m, dict):
        return None
    for kind in ("exact", "prefix", "regex"):
        if kind in m:
            return StringMatch(kind, str(m[kind]))
    return None


def matches(http: JsonDict) -> tuple[RouteMatch, ...]:
    out = []
    for m in http.get("match") or []:
        if not isinstance(m, dict):
            continue
        headers = []
        for invert, key in ((False, "headers"), (True, "withoutHeaders")):
            for name, value in (m.get(key) or {}).items():
                sm = string_match(value)
                if sm is None or sm.kind == "wildcard":  # Istio's StringMatch has no wildcard
                    headers.append(HeaderMatch(str(name), "present", "", invert))
                else:
                    headers.append(HeaderMatch(str(name), sm.kind, sm.value, invert))
        method = string_match(m.get("method"))
        out.append(
            RouteMatch(
                path=string_match(m.get("uri")) or StringMatch("prefix", "/"),
                headers=tuple(headers),
                methods=(method.value.upper(),) if method and method.kind == "exact" else (),
            )
        )
    return tuple(out) or (RouteMatch(),)


def backends(http: JsonDict) -> tuple[WeightedBackend, ...]:
    dests = [d for d in http.get("route") or [] if isinstance(d, dict)]
    out = []
    for d in dests:
        weight = d.get("weight")
        if weight is None:
            weight = 100 if len(dests) == 1 else 0
        out.append(WeightedBackend(destination_name(d.get("destination") or {}), int(weight)))
    return tuple(out)


def cors(policy: Any) -> Cors | None:
    if not isinstance(policy, dict):
        return None
    origins = [sm for sm in (string_match(o) for o in policy.get("allowOrigins") or []) if sm]
    origins += [StringMatch("exact", str(o)) for o in policy.get("allowOrigin") or []]
    return Cors(
        allow_origins=tuple(origins),
        allow_methods=tuple(str(m).upper() for m in policy.get("allowMethods") or []),
        allow_headers=tuple(str(h) for h in policy.get("allowHeaders") or []),
        expose_headers=tuple(str(h) for h in policy.get("exposeHeaders") or []),
        max_age=duration(policy.get("maxAge")),
        allow_credentials=bool(policy.get("allowCredentials", False)),
    )


def retries(policy: Any) -> Retries | None:
    """``retries`` as written: ``retryOn`` conditions, the status codes among them, back-off."""
    if not isinstance(policy, dict):
        return None
    parts = [p.strip() for p in str(policy.get("retryOn") or "").split(",") if p.strip()]
    codes = tuple(int(p) for p in parts if p.isdigit())
    retry_on = tuple(p for p in parts if not p.isdigit())
    return Retries(
        attempts=int(policy.get("attempts", 2)),
        per_try_timeout=duration(policy.get("perTryTimeout")),
        retry_on=retry_on if parts else Retries(1).retry_on,
        codes=codes,
        backoff=duration(policy.get("backoff")),
    )


def _percent(d: JsonDict) -> float:
    pct = d.get("percentage")
    if isinstance(pct, dict) and pct.get("value") is not None:
        return float(pct["value"])
    return float(d["percent"]) if d.get("percent") is not None else 100.0


def fault(policy: Any) -> Fault | None:
    """``fault``: a fixed delay and/or an abort with an HTTP or gRPC status, each on a share."""
    if not isinstance(policy, dict):
        return None
    delay, abort = policy.get("delay"), policy.get("abort")
    out = Fault()
    if isinstance(delay, dict):
        out = Fault(
            delay=duration(delay.get("fixedDelay") or delay.get("exponentialDelay")),
            delay_percent=_percent(delay),
        )
    if isinstance(abort, dict):
        status = abort.get("httpStatus")
        out = Fault(
            delay=out.delay,
            delay_percent=out.delay_percent,
            abort_status=int(status) if status is not None else None,
            abort_grpc=str(abort["grpcStatus"]) if abort.get("grpcStatus") else None,
            abort_percent=_percent(abort),
        )
    return out if out != Fault() else None


def mirror(http: JsonDict) -> Mirror | None:
    if isinstance(http.get("mirror"), dict):
        pct = (http.get("mirrorPercentage") or {}).get("value", 100.0)
        return Mirror(destination_name(http["mirror"]), float(pct))
    for m in http.get("mirrors") or []:
        if isinstance(m, dict) and isinstance(m.get("destination"), dict):
            return Mirror(
                destination_name(m["destination"]), float((m.get("percentage") or {}).get("value", 100.0))
            )
    return None


def _ops(d: Any) -> HeaderOps:
    if not isinstance(d, dict):
        return HeaderOps()
    return HeaderOps(
        set=tuple((str(k), str(v)) for k, v in (d.get("set") or {}).items()),
        add=tuple((str(k), str(v)) for k, v in (d.get("add") or {}).items()),
        remove=tuple(str(h) for h in d.get("remove") or []),
    )


def headers(http: JsonDict) -> HeaderRewrite | None:
    h = http.get("headers")
    if not isinstance(h, dict):
        return None
    rewrite = HeaderRewrite(request=_ops(h.get("request")), response=_ops(h.get("response")))
    return rewrite or None
