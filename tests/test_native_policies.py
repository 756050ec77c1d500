"""The rest of the route policies and whole-gateway changes, as clients see them: header rewrites,
timeouts, retries, mirroring, backends by DNS name, a second listener with its own routes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from connectors.change import Change
from connectors.http_client import http_client
from connectors.model import (
    Backend,
    Endpoint,
    HeaderOps,
    HeaderRewrite,
    Listener,
    Mirror,
    Retries,
    Route,
    WeightedBackend,
)
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.native_support import DemoBackends, client
from tests.waiting import wait_until


@pytest.fixture
def gw(shared_native_gateway: NativeConnector, backends: DemoBackends) -> Iterator[NativeConnector]:
    """The shared gateway; whatever a test adds is taken away again by undoing it."""
    before = shared_native_gateway.gateway()
    yield shared_native_gateway
    backends.reset()
    if shared_native_gateway.gateway() != before:
        Change(shared_native_gateway).apply(shared_native_gateway.plan_gateway(before))


def _add(gw: NativeConnector, route: Route) -> None:
    model = gw.gateway()
    result = Change(gw).apply(gw.plan_gateway(replace(model, routes=(*model.routes, route))))
    assert result.verification.ok, result.verification.details


def test_header_rewrites_reach_the_backend_and_the_client(
    gw: NativeConnector, backends: DemoBackends
) -> None:
    headers = HeaderRewrite(
        request=HeaderOps(set=(("x-tenant", "blue"),), remove=("x-drop-me",)),
        response=HeaderOps(add=(("x-served-by", "gatewayctl"),), remove=("x-backend",)),
    )
    _add(gw, Route("rewrites", (WeightedBackend("v2", 100),), hosts=("rewrites.test",), headers=headers))
    with client(gw) as c:
        response = c.get("/", headers={"host": "rewrites.test", "x-drop-me": "1", "x-tenant": "red"})
    assert response.headers["x-served-by"] == "gatewayctl"
    assert "x-backend" not in response.headers
    assert response.json()["backend"] == "v2"
    seen = backends.v2.seen_headers[-1]
    assert seen["x-tenant"] == "blue" and "x-drop-me" not in seen


def test_timeout_answers_504_and_retries_hide_a_flaky_backend(
    gw: NativeConnector, backends: DemoBackends
) -> None:
    _add(gw, Route("slow", (WeightedBackend("v2", 100),), hosts=("slow.test",), timeout=0.2))
    _add(
        gw,
        Route(
            "retried",
            (WeightedBackend("v1", 100),),
            hosts=("retried.test",),
            retries=Retries(attempts=5, retry_on=("5xx",)),
        ),
    )
    backends.v2.delay = 0.6
    with client(gw) as c:
        started = time.monotonic()
        assert c.get("/", headers={"host": "slow.test"}).status_code == 504
        assert time.monotonic() - started < 0.55
        backends.v1.fail_rate = 0.3
        codes = [c.get("/", headers={"host": "retried.test"}).status_code for _ in range(30)]
        # A request fails only if all 6 tries do (0.3^6 ≈ 0.07%): two failures in 30 ≈ 2e-4.
        assert codes.count(200) >= 29
        failed = [c.get("/", headers={"host": "v1.test"}).status_code for _ in range(30)]
        assert 500 in failed  # without retries the same backend fails


def test_mirror_copies_requests_to_another_backend(gw: NativeConnector, backends: DemoBackends) -> None:
    _add(
        gw,
        Route(
            "mirrored", (WeightedBackend("v1", 100),), hosts=("mirrored.test",), mirror=Mirror("v2", 100.0)
        ),
    )
    with client(gw) as c:
        for i in range(5):
            assert c.get(f"/mirror-{i}", headers={"host": "mirrored.test"}).json()["backend"] == "v1"
    wait_until(
        lambda: sum(backends.v2.paths.get(f"/mirror-{i}", 0) for i in range(5)) >= 5,
        3,
        what="the mirror to copy the five requests",
    )
    assert all(backends.v2.paths.get(f"/mirror-{i}", 0) == 1 for i in range(5))
    assert "mirrored~v2" in gw.cluster_names()


def test_backend_by_dns_name_and_a_second_listener(gw: NativeConnector, backends: DemoBackends) -> None:
    model = gw.gateway()
    port = free_port()
    dns = Backend("v2-by-name", (Endpoint("localhost", backends.v2.port),))
    second = Route("second", (WeightedBackend("v2-by-name", 100),), hosts=("*",), listener="side")
    new = replace(
        model,
        listeners=(*model.listeners, Listener("side", port)),
        backends=(*model.backends, dns),
        routes=(*model.routes, second),
    )
    result = Change(gw).apply(gw.plan_gateway(new))
    assert result.verification.ok, result.verification.details
    with http_client(base_url=f"http://127.0.0.1:{port}") as side:
        assert side.get("/", headers={"host": "anything.test"}).json()["backend"] == "v2"
        # Routes that name no listener are served on every listener.
        assert side.get("/", headers={"host": "v1.test"}).json()["backend"] == "v1"
    with client(gw) as main:  # the route bound to "side" is not on "main"
        assert main.get("/", headers={"host": "anything.test"}).status_code == 404
    assert gw.listener_url("side") == f"http://127.0.0.1:{port}"


def test_the_cors_filter_is_there_only_while_a_route_has_a_policy(gw: NativeConnector) -> None:
    """Removing the last CORS policy takes the filter out of the listener (it costs every request
    otherwise); the plan shows that listener change and warns that buckets refill. Undo brings the
    policy and the filter back, and a preflight is granted again."""
    preflight = {
        "host": "cors.test",
        "access-control-request-method": "POST",
        "origin": "https://app.example",
    }
    with client(gw) as c:
        assert c.options("/", headers=preflight).headers.get("access-control-allow-origin")
    plan = gw.plan([replace(gw.get_route("cors"), cors=None)])
    assert "listeners/main/cors filter (LDS)" in [c.label for c in plan.native_changes]
    assert any("bucket starts full again" in w for w in plan.warnings)
    res = Change(gw).apply(plan)
    assert res.verification.ok
    active = [c.get("active_state") for c in gw.admin.config_dump("dynamic_listeners")["configs"]]
    assert "envoy.filters.http.cors" not in repr(active), "the listener no longer runs the CORS filter"
    with client(gw) as c:
        assert "access-control-allow-origin" not in c.options("/", headers=preflight).headers
    undo = gw.plan_undo()
    assert "listeners/main/cors filter (LDS)" in [c.label for c in undo.native_changes]
    assert Change(gw).apply(undo).verification.ok
    with client(gw) as c:
        assert (
            c.options("/", headers=preflight).headers.get("access-control-allow-origin")
            == "https://app.example"
        )
