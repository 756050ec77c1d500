"""Verification that means it, on a real native gateway: it reads what Envoy serves, compares every
field a change touches, and checks that the listener accepts connections and the route answers."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from connectors.change import Change
from connectors.metrics_contract import admin_http
from connectors.model import Cors, Fault, Gateway, RateLimit, StringMatch
from connectors.model.edits import set_fault, set_rate_limit, set_weights
from connectors.native import NativeConnector
from connectors.native.verify import Traffic, check
from tui.cli import main


@pytest.fixture
def gw(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield native_gateway


def traffic(gw: NativeConnector) -> Traffic:
    return Traffic(dict(gw._state.listeners), lambda name: gw._deploy.probe(name)())


def with_route(gw: NativeConnector, name: str, **changes: Any) -> Gateway:
    """The gateway's model with route ``name`` changed (what a plan might have written)."""
    model = gw.gateway()
    return replace(model, routes=tuple(replace(r, **changes) if r.name == name else r for r in model.routes))


def test_a_drained_listener_fails_verification_with_the_reason(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    http, base = admin_http(gw.admin_url, 5.0)  # the admin API (a Unix socket)
    with http:
        assert http.post(f"{base}/drain_listeners").status_code == 200
    capsys.readouterr()
    rc = main(["set-weights", "canary", "v1=50", "v2=50", "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "Verification: NOT verified" in out
    assert "listener main" in out and "does not answer" in out
    assert "Change not in effect" in err


def test_a_dead_envoy_fails_verification_with_the_reason(gw: NativeConnector) -> None:
    plan = gw.plan([set_weights(gw.get_route("canary"), {"v1": 40, "v2": 60})])
    assert Change(gw).apply(plan).verification.ok
    assert gw.pid is not None
    os.kill(gw.pid, signal.SIGKILL)
    result = gw.verify(plan)
    assert not result.ok and "cannot read Envoy's config back" in result.details[0]


def test_every_cors_field_is_compared_not_only_the_origins(gw: NativeConnector) -> None:
    served = gw.get_route("cors").cors
    assert served is not None
    cases: tuple[tuple[str, Any], ...] = (
        ("allow_methods", ("GET",)),
        ("allow_headers", ("x-extra",)),
        ("expose_headers", ("x-seen",)),
        ("max_age", 600.0),
        ("allow_credentials", True),
    )
    for field, value in cases:
        model = with_route(gw, "cors", cors=replace(served, **{field: value}))
        result = check(gw.admin, model, ["cors"], traffic(gw))
        assert not result.ok, field
        assert any("CORS" in d for d in result.details), (field, result.details)
    same = with_route(
        gw, "cors", cors=Cors(allow_origins=served.allow_origins, allow_methods=served.allow_methods)
    )
    assert check(gw.admin, same, ["cors"], traffic(gw)).ok
    assert served.allow_origins[0] == StringMatch("exact", "https://app.example")


def test_limits_and_weights_are_compared_field_by_field(gw: NativeConnector) -> None:
    limit = gw.get_route("limited").rate_limit
    assert limit is not None
    for other in (replace(limit, burst=9), replace(limit, requests=6), RateLimit(5, 30.0, 5)):
        result = check(gw.admin, with_route(gw, "limited", rate_limit=other), ["limited"])
        assert not result.ok and any("rate limit" in d for d in result.details), (other, result.details)
    canary = set_weights(gw.get_route("canary"), {"v1": 50, "v2": 50})
    result = check(gw.admin, with_route(gw, "canary", backends=canary.backends), ["canary"])
    assert not result.ok and any("weights" in d for d in result.details)


def test_the_route_answers_a_real_request_through_the_listener(gw: NativeConnector) -> None:
    result = check(gw.admin, gw.gateway(), ["canary", "secure"], traffic(gw))
    assert result.ok, result.details
    assert any(d.startswith("canary: answers 200") for d in result.details)
    assert any(d.startswith("secure: answers 401") for d in result.details)  # the JWT filter answered
    moved = with_route(gw, "canary", hosts=("nowhere.test",))
    result = check(gw.admin, moved, ["canary"], traffic(gw))
    assert not result.ok and any("no route for nowhere.test/" in d for d in result.details)


def test_a_limit_off_removed_shadowed_or_missing_is_one_line_saying_which(gw: NativeConnector) -> None:
    limit = gw.get_route("limited").rate_limit
    assert limit is not None
    cases: tuple[tuple[RateLimit | None, str], ...] = (
        (
            replace(limit, enabled=False),
            "limited: still rate limited (Envoy serves 5/1m, expected none)",
        ),
        (None, "limited: still rate limited"),
        (
            replace(limit, shadow=True),
            "limited: Envoy's rate limit is enforced, expected shadow (counting only)",
        ),
    )
    for other, line in cases:
        result = check(gw.admin, with_route(gw, "limited", rate_limit=other), ["limited"])
        assert not result.ok and len(result.details) == 1 and result.details[0].startswith(line), (
            result.details
        )
    result = check(gw.admin, with_route(gw, "canary", rate_limit=RateLimit(5, 60.0)), ["canary"])
    assert not result.ok
    assert result.details == (
        "canary: rate limit not in effect (its route does not turn it on), expected 5/1m",
    )


def test_faults_and_shadow_limits_are_read_back_from_envoy(gw: NativeConnector) -> None:
    fault = Fault(delay=0.2, delay_percent=10.0, abort_grpc="UNAVAILABLE", abort_percent=5.0)
    result = check(gw.admin, with_route(gw, "canary", fault=fault), ["canary"])
    assert not result.ok and result.details == (
        "canary: Envoy injects no fault, expected delay 200ms on 10%, abort grpc 14 on 5%",
    )

    canary = set_fault(gw.get_route("canary"), fault)
    limited = gw.get_route("limited")
    assert limited.rate_limit is not None
    shadowed = set_rate_limit(limited, replace(limited.rate_limit, shadow=True))
    applied = Change(gw).apply(gw.plan([canary, shadowed])).verification
    assert applied.ok, applied.details
    assert any(d.startswith("canary: ") and "fault delay 200ms on 10%" in d for d in applied.details)
    assert any(d.startswith("limited: ") and "rate limit 5/1m (shadow)" in d for d in applied.details)
    # The grpc status is served as its number; the model's name compares equal to it.
    assert check(gw.admin, gw.gateway(), ["canary", "limited"], traffic(gw)).ok
    result = check(gw.admin, with_route(gw, "canary", fault=replace(fault, abort_percent=6.0)), ["canary"])
    assert not result.ok and result.details[0].startswith(
        "canary: Envoy injects delay 200ms on 10%, abort grpc 14"
    )
