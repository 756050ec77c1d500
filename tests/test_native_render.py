"""How the model becomes Envoy files (no Envoy needed): virtual hosts keep the YAML's first-match
order, each limited route's bucket lives in a limiter file of its own (ECDS), the incremental route
config equals a fresh one, and the version probe goes in and out of a routes body exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from connectors.model import (
    Backend,
    Endpoint,
    Gateway,
    Listener,
    RateLimit,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)
from connectors.model.edits import set_weights
from connectors.native.render import (
    Layout,
    clusters_body,
    limit_bodies,
    listeners_body,
    route_config_body,
    virtual_hosts,
    with_probe,
    without_probe,
)
from connectors.native.render_listener import log_headers

V1 = Backend("v1", (Endpoint("127.0.0.1", 1),))
BY_NAME = Backend("v2", (Endpoint("localhost", 2),))


def _route(name: str, *hosts: str, prefix: str = "/", **kw: object) -> Route:
    return Route(
        name,
        (WeightedBackend("v1", 100),),
        hosts=hosts,
        matches=(RouteMatch(StringMatch("prefix", prefix)),),
        **kw,  # type: ignore[arg-type]
    )


def _gateway(*routes: Route) -> Gateway:
    return Gateway("render-test", routes, (Listener("main", 10000),), (V1, BY_NAME))


def test_each_host_gets_the_wildcard_routes_that_apply_to_it_in_file_order() -> None:
    routes = [
        _route("api", "api.example", prefix="/api/"),
        _route("any-example", "*.example"),
        _route("catch-all", "*"),
        _route("api-rest", "api.example"),
    ]
    layout = {domain: [r.name for r in rs] for domain, rs in virtual_hosts(routes)}
    assert layout == {
        "api.example": ["api", "any-example", "catch-all", "api-rest"],
        "*.example": ["any-example", "catch-all"],
        "*": ["catch-all"],
    }


def test_each_limited_route_has_a_limiter_of_its_own_whose_bucket_lives_in_its_own_file() -> None:
    gw = _gateway(
        _route("free", "a.test"),
        _route("limited", "b.test", rate_limit=RateLimit(5, 60.0, burst=7)),
        _route("paused", "c.test", rate_limit=RateLimit(5, 60.0, enabled=False)),
    )
    layout = Layout(Path("/x"))
    listeners = json.loads(listeners_body(gw, layout, None, ()))
    filters = listeners[0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    # No route has a CORS policy: no CORS filter either (it would cost every request). A slot per
    # route with a limit (off or on), off unless the route turns it on; its config is in ECDS.
    assert [f["name"] for f in filters] == [
        "gatewayctl.ratelimit/limited",
        "gatewayctl.ratelimit/paused",
        "envoy.filters.http.router",
    ]
    assert filters[0]["disabled"] is True
    source = filters[0]["config_discovery"]["config_source"]["path_config_source"]["path"]
    assert source == "/x/limit-limited.json"
    limits = {p.name: json.loads(body) for p, body in limit_bodies(gw, layout).items()}
    assert set(limits) == {"limit-limited.json", "limit-paused.json"}
    limiter = limits["limit-limited.json"][0]
    assert limiter["name"] == "gatewayctl.ratelimit/limited"
    assert limiter["typed_config"]["token_bucket"] == {
        "max_tokens": 7,
        "tokens_per_fill": 5,
        "fill_interval": "60s",
    }
    routes = json.loads(route_config_body(gw, "main"))[0]["virtual_hosts"]
    by_name = {vh["routes"][0]["name"]: vh["routes"][0] for vh in routes}
    assert "typed_per_filter_config" not in by_name["free"]
    assert "typed_per_filter_config" not in by_name["paused"]  # its limit is off
    assert list(by_name["limited"]["typed_per_filter_config"]) == ["gatewayctl.ratelimit/limited"]


def test_clusters_per_route_and_backend_static_or_dns() -> None:
    route = Route("shop", (WeightedBackend("v1", 50), WeightedBackend("v2", 50)), hosts=("shop.test",))
    clusters = {c["name"]: c for c in json.loads(clusters_body(_gateway(route)))}
    assert set(clusters) == {"shop~v1", "shop~v2"}
    assert clusters["shop~v1"]["type"] == "STATIC"
    assert clusters["shop~v2"]["type"] == "STRICT_DNS"


def test_incremental_route_config_equals_a_fresh_render() -> None:
    routes = tuple(
        Route(
            f"r{i}", (WeightedBackend("v1", 90), WeightedBackend("v2", 10)), hosts=(f"h{i % 7}.test", "*.all")
        )
        for i in range(40)
    )
    gw = _gateway(*routes)
    route_config_body(gw, "main")  # primes the cache
    edited = replace(
        gw,
        routes=tuple(set_weights(r, {"v1": 0, "v2": 100}) if r.name in ("r3", "r39") else r for r in routes),
    )
    incremental = route_config_body(edited, "main")
    fresh = route_config_body(replace(edited, name="another-gateway"), "main")  # nothing cached for it
    assert incremental == fresh
    vhosts = json.loads(incremental)[0]["virtual_hosts"]
    actions = {e["name"]: e["route"] for vh in vhosts for e in vh["routes"]}
    # All traffic to one backend is a plain cluster route (Envoy loads it faster); a split stays weighted.
    assert actions["r3"] == {"cluster": "r3~v2"}
    assert [c["weight"] for c in actions["r4"]["weighted_clusters"]["clusters"]] == [90, 10]
    clusters = {c["name"] for c in json.loads(clusters_body(edited))}
    assert {"r3~v1", "r3~v2"} <= clusters, "the idle backend keeps its cluster (its figures, the next shift)"


def test_probe_goes_in_and_out_of_a_routes_body() -> None:
    for gw in (_gateway(), _gateway(_route("a", "a.test"))):
        body = route_config_body(gw, "main")
        probed = with_probe(body, "42", "secret")
        config = json.loads(probed)[0]
        probe = config["virtual_hosts"][-1]
        assert probe["routes"][0]["direct_response"]["body"]["inline_string"] == "42"
        assert probe["routes"][0]["match"]["headers"][0]["string_match"] == {"exact": "secret"}
        assert without_probe(probed) == body


def test_credentials_are_never_access_log_fields() -> None:
    assert log_headers(["X-User-Id", "Authorization", "cookie", "x-user-id", "x-tenant"]) == [
        "x-user-id",
        "x-tenant",
    ]
