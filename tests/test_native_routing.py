"""What clients see through a real native gateway: host and path routing, weighted splits,
rate limits, CORS and JWT — each checked with real HTTP requests through Envoy."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import httpx

from connectors.change import Change
from connectors.http_client import http_client
from connectors.model import RateLimit, WeightedBackend
from connectors.model.edits import set_rate_limit, set_weights
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, JwtSigner, client


def _backend(c: httpx.Client, host: str, path: str = "/") -> str:
    response = c.get(path, headers={"host": host})
    assert response.status_code == 200, response.text
    return response.headers["x-backend"]


def _split(c: httpx.Client, host: str, n: int) -> Counter[str]:
    return Counter(_backend(c, host) for _ in range(n))


def test_host_routing_sends_each_host_to_its_backend(shared_native_gateway: NativeConnector) -> None:
    with client(shared_native_gateway) as c:
        assert {_backend(c, "v1.test") for _ in range(5)} == {"v1"}
        assert {_backend(c, "v2.test") for _ in range(5)} == {"v2"}
        assert c.get("/", headers={"host": "unknown.test"}).status_code == 404


def test_path_routing_first_matching_route_wins(shared_native_gateway: NativeConnector) -> None:
    with client(shared_native_gateway) as c:
        assert _backend(c, "paths.test", "/v2/items") == "v2"
        assert _backend(c, "paths.test", "/v2") == "v1"  # prefix /v2/ needs the slash
        assert _backend(c, "paths.test", "/anything") == "v1"


def test_80_20_split_is_measured_within_3_points(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    before = gw.get_route("canary")
    Change(gw).apply(gw.plan([set_weights(before, {"v1": 80, "v2": 20})]))
    try:
        with client(gw) as c:
            counts = _split(c, "canary.test", 2000)
        share_v2 = 100 * counts["v2"] / 2000
        assert abs(share_v2 - 20) <= 3, counts
        assert counts["v1"] + counts["v2"] == 2000
    finally:
        Change(gw).apply(gw.plan([before]))


def test_rate_limited_route_answers_429_with_headers_and_others_are_never_limited(
    native_gateway: NativeConnector,
) -> None:
    with client(native_gateway) as c:
        codes = [c.get("/", headers={"host": "limited.test"}) for _ in range(8)]
        assert [r.status_code for r in codes] == [200] * 5 + [429] * 3
        limited = codes[-1]
        assert limited.headers["x-ratelimit-limit"] == "5"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) > 0
        # Routes without a limit share no bucket and are never limited.
        others = [c.get("/", headers={"host": "v1.test"}).status_code for _ in range(50)]
        assert others == [200] * 50
        assert "x-ratelimit-limit" not in c.get("/", headers={"host": "v1.test"}).headers


def test_cors_preflight_allowed_and_refused_origins(shared_native_gateway: NativeConnector) -> None:
    preflight = {"host": "cors.test", "access-control-request-method": "POST"}
    with client(shared_native_gateway) as c:
        ok = c.options("/", headers={**preflight, "origin": "https://app.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in ok.headers["access-control-allow-methods"]
        by_regex = c.options("/", headers={**preflight, "origin": "https://shop.trusted.example"})
        assert by_regex.headers["access-control-allow-origin"] == "https://shop.trusted.example"
        refused = c.options("/", headers={**preflight, "origin": "https://evil.example"})
        # Envoy passes a refused preflight through to the backend, without any CORS grant.
        assert "access-control-allow-origin" not in refused.headers
        simple = c.get("/", headers={"host": "cors.test", "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


def test_jwt_route_refuses_missing_and_bad_tokens_and_accepts_a_signed_one(
    shared_native_gateway: NativeConnector, jwt_signer: JwtSigner, backends: DemoBackends
) -> None:
    with client(shared_native_gateway) as c:
        assert c.get("/", headers={"host": "secure.test"}).status_code == 401
        good = jwt_signer.token("alice")
        ok = c.get("/", headers={"host": "secure.test", "authorization": f"Bearer {good}"})
        assert ok.status_code == 200
        assert ok.headers["x-backend"] == "v1"
        wrong_audience = jwt_signer.token("alice", audience="someone-else")
        bad = c.get("/", headers={"host": "secure.test", "authorization": f"Bearer {wrong_audience}"})
        assert bad.status_code == 403
        expired = jwt_signer.token("alice", expires_in=-3600)
        late = c.get("/", headers={"host": "secure.test", "authorization": f"Bearer {expired}"})
        assert late.status_code == 401
        # Other routes need no token.
        assert c.get("/", headers={"host": "v1.test"}).status_code == 200


def test_client_over_its_limit_stays_limited_after_a_weight_change(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    with client(gw) as c:
        assert [c.get("/", headers={"host": "limited.test"}).status_code for _ in range(6)][-1] == 429
        # Split the limited route itself over v1 and v2: clusters and routes change, the listener
        # holding the bucket does not, so the bucket is not refilled.
        route = gw.get_route("limited")
        plan = gw.plan([replace(route, backends=(WeightedBackend("v1", 50), WeightedBackend("v2", 50)))])
        assert not any("(LDS)" in ch.label for ch in plan.native_changes)
        assert not plan.warnings
        assert Change(gw).apply(plan).verification.ok
        assert c.get("/", headers={"host": "limited.test"}).status_code == 429
        with http_client(base_url=gw.listener_url()) as fresh:
            assert fresh.get("/", headers={"host": "limited.test"}).status_code == 429
        # Other routes still pass.
        assert c.get("/", headers={"host": "v2.test"}).status_code == 200


def test_rate_limit_edit_takes_effect(native_gateway: NativeConnector) -> None:
    gw = native_gateway
    route = gw.get_route("host-v1")
    result = Change(gw).apply(gw.plan([set_rate_limit(route, RateLimit(requests=2, interval=60))]))
    assert result.verification.ok, result.verification.details
    with client(gw) as c:
        codes = [c.get("/", headers={"host": "v1.test"}).status_code for _ in range(4)]
    assert codes == [200, 200, 429, 429]


def test_the_connectors_version_probe_is_closed_to_clients(shared_native_gateway: NativeConnector) -> None:
    with client(shared_native_gateway) as c:
        assert c.get("/", headers={"host": "gatewayctl-probe.internal"}).status_code == 404
        wrong = c.get("/", headers={"host": "gatewayctl-probe.internal", "x-gatewayctl-probe": "guess"})
        assert wrong.status_code == 404
