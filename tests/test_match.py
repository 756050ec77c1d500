"""``match``: the route, backends and policies predicted offline for every demo route, and ``--send``
through a real Envoy agreeing with the prediction; bad requests refused before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors import match
from connectors.demo.config import ALLOWED_ORIGIN, API_HOST, REFUSED_ORIGIN, ROUTES, SHOP_HOST
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, JwtSigner
from tui.cli import main

# The policies each demo route applies (beyond the always-listed ones that do not apply).
POLICIES = {
    "shop-static": set(),
    "shop": {"retries", "timeout"},
    "api-limited": {"rate limit"},
    "api-cors": {"cors"},  # attached; without an Origin it has nothing to do
    "api-jwt": {"jwt"},
    "api": set(),
}


def run(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["match", *args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def explain(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    rc, out, err = run(gw, capsys, *args, "-o", "json", "--send")
    data: dict[str, Any] = json.loads(out)
    assert rc == 0, (err, data)
    return data


@pytest.mark.parametrize("demo", ROUTES, ids=[r.name for r in ROUTES])
def test_match_predicts_every_demo_route_and_send_agrees(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str], demo: Any
) -> None:
    data = explain(demo_gateway, capsys, "--host", demo.host, "--path", demo.path)
    route = demo_gateway.gateway().route(demo.name)
    assert data["route"] == demo.name
    assert {b["name"] for b in data["backends"]} == {b.name for b in route.backends if b.weight > 0}
    assert sum(b["percent"] for b in data["backends"]) == pytest.approx(100)
    applied = {p["policy"] for p in data["policies"] if p["applies"]}
    assert applied == POLICIES[demo.name]
    # the routes that come earlier on the same host were passed over for their path
    earlier = [r.name for r in ROUTES[: ROUTES.index(demo)] if r.host == demo.host]
    passed = {p["route"]: p["reason"] for p in data["passed_over"]}
    for name in earlier:
        assert "path" in passed[name]
    # later ones: their own reason when they would not take it either, else that this one comes first
    for later in ROUTES[ROUTES.index(demo) + 1 :]:
        if later.host == demo.host:
            catch_all = demo_gateway.gateway().route(later.name).matches[0].path.value == "/"
            assert ("comes first and matches" in passed[later.name]) == catch_all, passed
    sent = data["sent"]
    assert sent["agrees"], sent
    if demo.name == "api-jwt":
        assert (data["answered_by"], data["status"]) == ("jwt", 401)
        assert (sent["status"], sent["answered_by"]) == (401, "jwt")
    else:
        assert sent["status"] == 200 and sent["backend"] in {b["name"] for b in data["backends"]}


def test_a_valid_token_reaches_the_backend(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str], jwt_signer: JwtSigner
) -> None:
    token = jwt_signer.token()
    data = explain(
        demo_gateway,
        capsys,
        "--host",
        API_HOST,
        "--path",
        "/secure/x",
        "-H",
        f"authorization: Bearer {token}",
    )
    assert data["answered_by"] == "upstream"
    assert data["sent"]["backend"] == "v2" and data["sent"]["agrees"]


def test_cors_preflights_allowed_and_refused(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    preflight = ["-X", "OPTIONS", "-H", "access-control-request-method: POST"]
    allowed = explain(
        demo_gateway,
        capsys,
        "--host",
        API_HOST,
        "--path",
        "/cors/x",
        "-H",
        f"origin: {ALLOWED_ORIGIN}",
        *preflight,
    )
    assert (allowed["answered_by"], allowed["status"]) == ("cors", 200)
    assert allowed["sent"]["answered_by"] == "cors" and allowed["sent"]["agrees"]
    refused = explain(
        demo_gateway,
        capsys,
        "--host",
        API_HOST,
        "--path",
        "/cors/x",
        "-H",
        f"origin: {REFUSED_ORIGIN}",
        *preflight,
    )
    assert refused["answered_by"] == "upstream" and refused["sent"]["agrees"]
    assert "NOT allowed" in next(p["effect"] for p in refused["policies"] if p["policy"] == "cors")


def test_the_limited_route_shows_its_bucket_and_the_429_agrees(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    from connectors.change import Change
    from connectors.model import RateLimit
    from connectors.model.edits import set_rate_limit
    from tests.native_support import client

    # A bucket that does not refill while the test runs (5 a minute), so a loaded machine cannot
    # hand back a token between emptying it and the request `match --send` makes.
    route = demo_gateway.get_route("api-limited")
    change = Change(demo_gateway)
    change.apply(demo_gateway.plan([set_rate_limit(route, RateLimit(requests=5, interval=60.0, burst=5))]))
    try:
        with client(demo_gateway) as c:
            statuses = [c.get("/limited/x", headers={"host": API_HOST}).status_code for _ in range(6)]
        assert statuses[-1] == 429, statuses
        data = explain(demo_gateway, capsys, "--host", API_HOST, "--path", "/limited/x")
        assert (data["sent"]["status"], data["sent"]["answered_by"]) == (429, "rate-limit")
        assert data["sent"]["agrees"], data["sent"]
        step = next(p for p in data["policies"] if p["policy"] == "rate limit")
        assert "bucket now 0 of 5 tokens" in step["effect"]
        _, out, _ = run(demo_gateway, capsys, "--host", API_HOST, "--path", "/limited/x", "--send")
        assert "Bucket:" in out and "tokens left" in out
    finally:
        change.apply(demo_gateway.plan([route]))


def test_no_route_is_a_404_from_the_gateway(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    data = explain(demo_gateway, capsys, "--host", "nowhere.example", "--path", "/")
    assert data["route"] is None and data["status"] == 404
    assert data["sent"]["status"] == 404 and data["sent"]["agrees"]
    assert all("not one of its hosts" in p["reason"] for p in data["passed_over"])


def test_text_output_names_the_route_the_passed_over_and_the_policies(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = run(demo_gateway, capsys, "--host", f"{SHOP_HOST}:10000", "--path", "/cart")
    assert rc == 0
    assert "Route:     shop " in out
    assert "shop-static" in out and "does not start with /static" in out
    assert "v1 90%" in out and "v2 10%" in out
    assert "up to 2 retries on 5xx, connect-failure, 1s per try" in out


def test_a_pasted_curl_command(demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]) -> None:
    url = demo_gateway.listener_url() + "/static/app.css?v=3"
    data = explain(demo_gateway, capsys, "--curl", f"curl -sS -H 'Host: {SHOP_HOST}' '{url}'")
    assert data["route"] == "shop-static" and data["sent"]["backend"] == "v2"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--host", "shop.demo", "-H", "no colon here"], "header"),
        (["--host", "shop.demo", "--path", "static"], "path"),
        (["--host", "bad host"], "host"),
        (["--url", "ftp://shop.demo/x"], "url"),
        (["--url", "http://shop.demo:99999/"], "url"),
        (["--curl", "curl -H 'host: a' 'http://x/"], "curl"),
        (["--host", "shop.demo", "-X", "FETCH"], "method"),
    ],
)
def test_bad_requests_are_one_line_and_nothing_is_sent(
    demo_gateway: NativeConnector,
    backends: DemoBackends,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    field: str,
) -> None:
    before = backends.v1.requests + backends.v2.requests
    rc, out, err = run(demo_gateway, capsys, *args, "--send")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: usage: ") and field in err
    assert "Traceback" not in err
    assert backends.v1.requests + backends.v2.requests == before


def test_wildcard_hosts_follow_envoys_virtual_host_choice() -> None:
    from connectors.model import Gateway, Listener, Route, WeightedBackend

    def r(name: str, *hosts: str) -> Route:
        return Route(name, (WeightedBackend("b", 100),), hosts=hosts)

    gw = Gateway(
        "g",
        (r("any", "*"), r("suffix", "*.example"), r("deeper", "*.b.example"), r("exact", "a.b.example")),
        (Listener("l", 1),),
    )
    picks = {
        h: match.explain(gw, match.build(host=h, path="/")).route
        for h in ("a.b.example", "c.b.example", "x.example", "other")
    }
    # the most specific virtual host wins; wildcard routes covering it are merged in, in file order
    assert picks == {"a.b.example": "any", "c.b.example": "any", "x.example": "any", "other": "any"}
    gw2 = Gateway("g", tuple(reversed(gw.routes)), gw.listeners)
    picks2 = {
        h: match.explain(gw2, match.build(host=h, path="/")).route
        for h in ("a.b.example", "c.b.example", "x.example", "other")
    }
    assert picks2 == {"a.b.example": "exact", "c.b.example": "deeper", "x.example": "suffix", "other": "any"}


def _upstream_requests(gw: NativeConnector, route: str) -> int:
    """Envoy's own count of requests a route sent to its backends (one cluster per route and
    backend): which route took a request, told without the access log ``match`` reads."""
    stats = gw.admin.stats(rf"^cluster\.{route}~[^.]+\.upstream_rq_total$")
    return sum(int(v or 0) for v in stats.values())


def test_a_path_with_dot_segments_is_routed_as_envoy_normalises_it_and_the_route_is_checked(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cold tester's case: /static/../limited/x was predicted `api` while `api-limited` answered.
    The listener normalises paths, so Envoy routes it as /limited/x: the prediction says so, the
    path is sent as written (byte for byte), and the route Envoy used is compared."""
    before = {r: _upstream_requests(demo_gateway, r) for r in ("api", "api-limited")}
    data = explain(demo_gateway, capsys, "--host", API_HOST, "--path", "/static/../limited/x")
    assert data["route"] == "api-limited" and data["sent"]["path"] == "/static/../limited/x"
    assert data["routed_path"] == "/limited/x"
    assert data["sent"]["route"] == "api-limited" and data["sent"]["route_known"] and data["sent"]["agrees"]
    assert any("Envoy routes /static/../limited/x as /limited/x" in n for n in data["notes"])
    after = {r: _upstream_requests(demo_gateway, r) for r in ("api", "api-limited")}
    assert (after["api"] - before["api"], after["api-limited"] - before["api-limited"]) == (0, 1)


@pytest.mark.parametrize("flags", ["", "--path-as-is "])
def test_a_pasted_curl_is_predicted_on_the_path_curl_sends(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str], flags: str
) -> None:
    """curl cleans the dot segments (unless --path-as-is), Envoy would anyway: either way
    api-limited takes it, and the notes say who cleaned the path."""
    url = demo_gateway.listener_url() + "/static/../limited/x"
    command = f"curl -sS {flags}-H 'Host: {API_HOST}' '{url}'"
    before = _upstream_requests(demo_gateway, "api-limited")
    data = explain(demo_gateway, capsys, "--curl", command)
    assert (
        data["route"] == "api-limited" and data["sent"]["route"] == "api-limited" and data["sent"]["agrees"]
    )
    assert _upstream_requests(demo_gateway, "api-limited") == before + 1
    cleaned = any("curl sends /limited/x" in n for n in data["notes"])
    normalised = any("Envoy routes /static/../limited/x as /limited/x" in n for n in data["notes"])
    assert (cleaned, normalised) == (not flags, bool(flags))


def test_send_disagrees_when_another_route_answers(demo_gateway: NativeConnector) -> None:
    """A prediction made on a model that no longer matches the gateway (api-limited missing from
    it): the backend is the same (v1), so only the route tells them apart — and it must."""
    from dataclasses import replace

    from connectors.match.outcome import base_url

    model = demo_gateway.gateway()
    stale = replace(model, routes=tuple(r for r in model.routes if r.name != "api-limited"))
    request = match.build(host=API_HOST, path="/limited/x")
    explanation = match.explain(stale, request)
    assert explanation.route == "api"
    url = base_url(demo_gateway, model, explanation)
    assert url is not None
    sent = match.send(url, request, access_log=demo_gateway.metrics_hooks().access_log_path)
    assert sent.answer.backend == "v1" and sent.route == "api-limited"
    ok, why = match.agrees(explanation, sent)
    assert not ok and why == "route api-limited took it (access log), the prediction was api"


def test_a_bad_header_name_is_named(
    demo_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(demo_gateway, capsys, "--host", API_HOST, "-H", "bad name: v", "--send")
    assert rc == 2 and out == ""
    assert err == "error: usage: header: invalid header name 'bad name' (see gatewayctl-tui --help)\n"
    rc, _, err = run(demo_gateway, capsys, "--host", API_HOST, "-H", "Authorization Bearer s3cret")
    assert rc == 2 and "s3cret" not in err and "header: 'Authorization'... has no ':'" in err


def test_the_console_fills_in_a_request_each_route_takes(demo_gateway: NativeConnector) -> None:
    """``m`` on a route fills the tester in with sample(route): for every demo route, and for
    matches on a regex path, headers and methods, that request is routed to that very route."""
    from connectors.match.sample import sample
    from connectors.model import Gateway, HeaderMatch, Route, RouteMatch, StringMatch, WeightedBackend

    def routed(gw: Gateway, route: Route) -> str | None:
        s = sample(route)
        return match.explain(
            gw, match.build(host=s.host, path=s.path, method=s.method, headers=s.headers)
        ).route

    demo = demo_gateway.gateway()
    assert {r.name: routed(demo, r) for r in demo.routes} == {r.name: r.name for r in demo.routes}
    b = (WeightedBackend("b", 100),)
    strict = RouteMatch(
        StringMatch("regex", r"/api/v[0-9]+/users/[^/]+"),
        headers=(HeaderMatch("x-tenant", "exact", "blue"), HeaderMatch("x-debug", "present")),
        methods=("POST",),
    )
    gw = Gateway(
        "g",
        (
            Route("strict", b, hosts=("*.example.com",), matches=(strict,)),
            Route(
                "secret",
                b,
                hosts=("s.example",),
                matches=(RouteMatch(headers=(HeaderMatch("x-api-key", "exact", "k3y"),)),),
            ),
        ),
    )
    assert routed(gw, gw.routes[0]) == "strict"
    s = sample(gw.routes[0])
    assert (s.method, s.host, s.path) == ("POST", "www.example.com", "/api/v1/users/x")
    assert sample(gw.routes[1]).headers == ("x-api-key: <fill in>",)  # a credential is never copied
