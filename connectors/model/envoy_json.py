"""Envoy's JSON forms of a route's policies read back into the model, whoever wrote them: the native
connector's files, istiod or Envoy Gateway, as a proxy's ``/config_dump`` shows them.

Each reader takes one per-route (or filter) config as found under ``typed_per_filter_config``: a
LocalRateLimit (directly or inside a TypedStruct's ``value``, snake_case or lowerCamelCase), an
HTTPFault, a CorsPolicy. Pure data in, model out; nothing here does I/O.
"""

from __future__ import annotations

from typing import Any

from .durations import parse_duration
from .types import Cors, Fault, RateLimit, StringMatch

JsonDict = dict[str, Any]
CORS_FILTER = "envoy.filters.http.cors"
FAULT_FILTER = "envoy.filters.http.fault"
LOCAL_RATELIMIT_FILTER = "envoy.filters.http.local_ratelimit"
_SCALE = {"HUNDRED": 1.0, "TEN_THOUSAND": 100.0, "MILLION": 10_000.0}


def camel(d: JsonDict, snake: str) -> Any:
    """A protobuf JSON field under its snake_case or lowerCamelCase name."""
    if snake in d:
        return d[snake]
    head, *rest = snake.split("_")
    return d.get(head + "".join(p.title() for p in rest))


def typed_value(config: Any) -> JsonDict | None:
    """The message inside a TypedStruct (``value``), or the message given directly."""
    if not isinstance(config, dict):
        return None
    if "type_url" in config and isinstance(config.get("value"), dict):
        return config["value"]  # type: ignore[no-any-return]
    return config


def _seconds(value: Any) -> float | None:
    try:
        return parse_duration(value) if value is not None else None
    except ValueError:
        return None


def percent_of(fraction: Any) -> float:
    """A FractionalPercent in percent (a dump leaves out a HUNDRED denominator and a 0 numerator)."""
    if not isinstance(fraction, dict):
        return 100.0
    scale = _SCALE.get(str(fraction.get("denominator", "HUNDRED")), 1.0)
    return round(float(fraction.get("numerator", 0) or 0) / scale, 4)


def local_limit(config: Any) -> RateLimit | None:
    """A LocalRateLimit config → RateLimit; None without a token bucket (an inert filter). Envoy's
    default for both fractions is 0%: not enabled is off (not even counted); enabled but not
    enforced is a shadow limit (counted only)."""
    value = typed_value(config)
    bucket = camel(value, "token_bucket") if value is not None else None
    if value is None or not isinstance(bucket, dict):
        return None
    per_fill = int(camel(bucket, "tokens_per_fill") or 1)
    max_tokens = int(camel(bucket, "max_tokens") or per_fill)

    def percent_on(key: str) -> bool:
        frac = camel(value, key)
        default = camel(frac, "default_value") if isinstance(frac, dict) else None
        return isinstance(default, dict) and int(default.get("numerator", 0) or 0) > 0

    enabled = percent_on("filter_enabled")
    return RateLimit(
        requests=per_fill,
        interval=_seconds(camel(bucket, "fill_interval")) or 1.0,
        burst=None if max_tokens == per_fill else max_tokens,
        enabled=enabled,
        shadow=enabled and not percent_on("filter_enforced"),
    )


def fault(config: Any) -> Fault | None:
    """An HTTPFault → Fault (an abort's gRPC status as its number); None when it injects nothing."""
    value = typed_value(config)
    if value is None:
        return None
    delay, abort = camel(value, "delay") or {}, camel(value, "abort") or {}
    grpc = camel(abort, "grpc_status")
    status = camel(abort, "http_status")
    out = Fault(
        delay=_seconds(camel(delay, "fixed_delay")),
        delay_percent=percent_of(delay.get("percentage")) if delay else 100.0,
        abort_status=int(status) if status else None,
        abort_grpc=str(grpc) if grpc is not None else None,
        abort_percent=percent_of(abort.get("percentage")) if abort else 100.0,
    )
    return None if out.delay is None and out.abort_status is None and out.abort_grpc is None else out


def _matcher(m: Any) -> StringMatch | None:
    if not isinstance(m, dict):
        return None
    regex = (camel(m, "safe_regex") or {}).get("regex")
    if regex is not None:
        return StringMatch("wildcard", "*") if regex == ".*" else StringMatch("regex", str(regex))
    for kind in ("exact", "prefix"):
        if kind in m:
            return (
                StringMatch("wildcard", "*")
                if m[kind] == "*" and kind == "exact"
                else StringMatch(kind, m[kind])
            )
    return None


def _list(text: Any) -> tuple[str, ...]:
    return tuple(p.strip() for p in str(text or "").split(",") if p.strip())


def cors(policy: Any) -> Cors | None:
    """A CorsPolicy → Cors; None for no policy."""
    value = typed_value(policy)
    if not value:
        return None
    origins = [_matcher(m) for m in camel(value, "allow_origin_string_match") or []]
    max_age = camel(value, "max_age")
    return Cors(
        allow_origins=tuple(o for o in origins if o is not None),
        allow_methods=_list(camel(value, "allow_methods")),
        allow_headers=_list(camel(value, "allow_headers")),
        expose_headers=_list(camel(value, "expose_headers")),
        max_age=float(max_age) if str(max_age or "").isdigit() else None,
        allow_credentials=bool(camel(value, "allow_credentials")),
    )
