"""A path written to dodge a route — dot segments, doubled slashes, escaped slashes, percent-encoded
letters — meets the protected route's rate limit, deny rule and JWT, as the path Envoy normalises it
to; never the catch-all's route. Sent byte for byte (``http.client``: no client clean-up) through a
real Envoy, asserted on what the client sees.

The native listener normalises (``normalize_path``, ``merge_slashes``) and answers a path with an
escaped slash (``%2F``, ``%5C``) with a 307 to its unescaped form (``UNESCAPE_AND_REDIRECT``); a
client that follows the redirect meets the route's policies like anyone else.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.change import Change
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.model.paths import NORMALISED, PathHandling, envoy_path
from connectors.native import NativeConnector, listener_paths, xds
from connectors.native.process import free_port
from connectors.native.render import body_of, file_text
from tests.native_support import AUDIENCE, ISSUER, DemoBackends, JwtSigner, start_native_gateway
from tui.cli import main

HOST = "api.test"

CONFIG = """\
name: paths-gw
listeners:
  - {{name: main, address: 127.0.0.1, port: {port}}}
backends:
  - {{name: v1, endpoints: ["{v1}"]}}
  - {{name: v2, endpoints: ["{v2}"]}}
routes:
  - name: static
    hosts: [{host}]
    match: {{prefix: /static}}
    backends: [{{name: v2, weight: 100}}]
  - name: limited
    hosts: [{host}]
    match: {{prefix: /limited}}
    backends: [{{name: v1, weight: 100}}]
    rate_limit: {{requests: 3, interval: 1m, burst: 3}}
  - name: members
    hosts: [{host}]
    match: {{prefix: /members}}
    backends: [{{name: v1, weight: 100}}]
    deny:
      clients: [{{header: x-user-id, value: mallory}}]
  - name: secure
    hosts: [{host}]
    match: {{prefix: /secure}}
    backends: [{{name: v1, weight: 100}}]
    jwt:
      providers:
        - name: test
          issuer: {issuer}
          audiences: [{audience}]
          jwks: '{jwks}'
  - name: api
    hosts: [{host}]
    match: {{prefix: /}}
    backends: [{{name: v1, weight: 100}}]
  - name: echo
    hosts: [echo.test]
    backends: [{{name: v1, weight: 100}}]
"""

# Each written to reach the protected route's prefix through the catch-all; what Envoy makes of it.
LIMITED = {
    "/static/../limited/x": "/limited/x",
    "//limited/x": "/limited/x",
    "/limited/%2e%2e/limited/x": "/limited/x",
    "/%6cimited/x": "/limited/x",
    "/static/%2E%2E/limited/x": "/limited/x",
    "/static/.%2e/limited/x": "/limited/x",
    "/static\\..\\limited/x": "/limited/x",
    "/../limited/x": "/limited/x",
}
# Escaped slashes: Envoy answers 307 itself, Location the unescaped, normalised path.
LIMITED_ESCAPED = {
    "/limited%2Fx": "/limited/x",
    "/limited%2fx": "/limited/x",
    "/static%2F..%2Flimited/x": "/limited/x",
    "/static/..%5Climited/x": "/limited/x",
}
MEMBERS = ["/static/../members/x", "//members/x", "/%6Dembers/x", "/static/%2e%2e/members"]
SECURE = ["/static/../secure/x", "//secure/x", "/%73ecure/x", "/static/.%2E/secure/account"]


@pytest.fixture
def gateway(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backends: DemoBackends,
    jwt_signer: JwtSigner,
) -> Iterator[NativeConnector]:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config-dir"))
    config = tmp_path / "paths.yaml"
    config.write_text(
        CONFIG.format(
            port=free_port(),
            v1=backends.v1.address,
            v2=backends.v2.address,
            host=HOST,
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks=jwt_signer.jwks,
        ),
        encoding="utf-8",
    )
    gw = start_native_gateway(config, tmp_path / "state")
    yield gw
    gw.close()
    gw.stop()


class Answer:
    """What a client saw: the status, the response headers (lower-cased) and the body."""

    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def backend(self) -> str | None:
        return self.headers.get("x-backend")

    def __repr__(self) -> str:
        return f"Answer({self.status}, backend={self.backend}, location={self.headers.get('location')})"


def raw(gw: NativeConnector, path: str, headers: dict[str, str] | None = None) -> Answer:
    """One GET whose request line carries ``path`` byte for byte."""
    address = gw.listener_url().removeprefix("http://")
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"host": HOST, **(headers or {})}.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


def followed(gw: NativeConnector, path: str, headers: dict[str, str] | None = None) -> Answer:
    """As a browser or ``curl -L``: a redirect from the gateway is followed (same host)."""
    answer = raw(gw, path, headers)
    for _ in range(3):
        if answer.status not in (301, 302, 307, 308):
            return answer
        answer = raw(gw, answer.headers["location"], headers)
    return answer


def test_dodging_paths_meet_the_rate_limit_after_the_burst(gateway: NativeConnector) -> None:
    assert [raw(gateway, "/limited/x").status for _ in range(3)] == [200, 200, 200]
    assert raw(gateway, "/limited/x").status == 429  # the burst is spent
    # Every spelling of /limited/x is refused too: none reaches a backend through another route.
    seen = {path: raw(gateway, path) for path in LIMITED}
    assert {p: (a.status, a.backend) for p, a in seen.items()} == {p: (429, None) for p in LIMITED}, seen
    for path, target in LIMITED_ESCAPED.items():
        first = raw(gateway, path)
        assert (first.status, first.headers.get("location"), first.backend) == (307, target, None), path
        assert followed(gateway, path).status == 429, path
    assert raw(gateway, "/static/app.css").backend == "v2"  # the other routes still answer


def test_dodging_paths_meet_the_deny_rule(gateway: NativeConnector) -> None:
    mallory = {"x-user-id": "mallory"}
    for path in MEMBERS:
        answer = raw(gateway, path, mallory)
        assert (answer.status, answer.body) == (403, "RBAC: access denied"), (path, answer)
        assert raw(gateway, path, {"x-user-id": "alice"}).status == 200, path  # everyone else passes
    answer = followed(gateway, "/static%2F..%2Fmembers/x", mallory)
    assert (answer.status, answer.backend) == (403, None)


def test_dodging_paths_meet_the_jwt_check(gateway: NativeConnector, jwt_signer: JwtSigner) -> None:
    for path in SECURE:
        answer = raw(gateway, path)
        assert (answer.status, answer.backend) == (401, None), (path, answer)
        assert answer.headers["www-authenticate"].startswith("Bearer"), path
    good = {"authorization": f"Bearer {jwt_signer.token()}"}
    assert raw(gateway, SECURE[0], good).backend == "v1"  # a valid token still passes
    answer = followed(gateway, "/secure%2Faccount")
    assert (answer.status, answer.backend) == (401, None)


def test_the_backend_is_sent_the_normalised_path(gateway: NativeConnector, backends: DemoBackends) -> None:
    answer = raw(gateway, "/static/./css/../app.css")
    assert answer.backend == "v2" and json.loads(answer.body)["path"] == "/static/app.css"
    answer = raw(gateway, "/static//%61pp.css?next=/../x")  # the query is left as it is
    assert json.loads(answer.body)["path"] == "/static/app.css?next=/../x"


def match_json(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    rc = main(["match", *args, "--gateway", str(gw.state_dir), "-o", "json", "--send"])
    out, err = capsys.readouterr()
    data: dict[str, Any] = json.loads(out)
    assert rc == 0, (err, data)
    return data


@pytest.mark.parametrize(
    ("path", "route", "routed"),
    [
        ("/static/../limited/x", "limited", "/limited/x"),
        ("//limited/x", "limited", "/limited/x"),
        ("/%6cimited/x", "limited", "/limited/x"),
        ("/limited/%2e%2e/static/x", "static", "/static/x"),
        ("/static/../secure/x", "secure", "/secure/x"),
        ("/static/./app.css", "static", "/static/app.css"),
    ],
)
def test_match_predicts_on_the_normalised_path_and_envoy_agrees(
    gateway: NativeConnector, capsys: pytest.CaptureFixture[str], path: str, route: str, routed: str
) -> None:
    data = match_json(gateway, capsys, "--host", HOST, "--path", path)
    assert data["route"] == route and data["routed_path"] == routed
    assert any(f"Envoy routes {path} as {routed}" in n for n in data["notes"]), data["notes"]
    sent = data["sent"]
    assert sent["path"] == path and sent["route"] == route and sent["route_known"] and sent["agrees"], sent


def test_match_predicts_the_redirect_of_an_escaped_slash(
    gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    data = match_json(gateway, capsys, "--host", HOST, "--path", "/static%2F..%2Flimited/x?a=%2F")
    assert (data["route"], data["answered_by"], data["status"]) == (None, "gateway", 307)
    assert data["redirect"] == "/limited/x?a=%2F"
    note = next(n for n in data["notes"] if "307" in n)
    assert "UNESCAPE_AND_REDIRECT" in note and "route limited" in note, note
    sent = data["sent"]
    assert (sent["status"], sent["route"], sent["agrees"]) == (307, None, True), sent
    assert sent["headers"]["location"] == "/limited/x?a=%2F"


def test_a_path_envoy_refuses_is_predicted(
    gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    data = match_json(gateway, capsys, "--host", HOST, "--path", "/static/%00x")
    assert (data["route"], data["answered_by"], data["status"]) == (None, "gateway", 400)
    assert data["sent"]["status"] == 400 and data["sent"]["agrees"], data["sent"]


# Paths with everything Envoy's normalisation does, and what it does (checked against Envoy below;
# 13,000 random ones agreed while this was written).
ENVOY_PATHS: dict[str, tuple[str, str]] = {
    "/a//../b": ("route", "/a/b"),  # dot segments first, then slashes merged
    "/a/..//b": ("route", "/b"),
    "/a/b/.": ("route", "/a/b/"),
    "/a/b/..": ("route", "/a/"),
    "/..": ("route", "/"),
    "/a/.../b": ("route", "/a/.../b"),  # not a dot segment
    "/a/%2E%2e/b": ("route", "/b"),
    "/a/%41%7e%5f%2D%2e": ("route", "/a/A~_-."),  # unreserved characters decoded
    "/a/%3f%7B%C3%A9%25": ("route", "/a/%3f%7B%C3%A9%25"),  # the rest kept as written
    '/a/"{|}^`<>': ("route", "/a/%22%7B%7C%7D%5E%60%3C%3E"),  # escaped
    "/a/%zz/%2/%": ("route", "/a/%zz/%2/%"),
    "/a%2%46b": ("route", "/a%252Fb"),  # no %2F made out of %2%46
    "/a\\b/..\\c": ("route", "/a/c"),
    "/a/..;x/b": ("route", "/b"),  # a dot segment's parameters go (literal dots only)
    "/a/.;x/b": ("route", "/a/b"),
    "/a/%2e%2e;x/b": ("route", "/a/..;x/b"),
    "/a/b;c/../d": ("route", "/a/d"),
    "/a/x?q=/../%2F": ("route", "/a/x?q=/../%2F"),  # the query is never touched
    "/a%2Fb": ("redirect", "/a/b"),
    "/a/%2e%2f..": ("redirect", "/"),
    "/a%5c..%5Cb?q=1": ("redirect", "/b?q=1"),
    "/a%2f..;x/b": ("redirect", "/b"),
    "/a%5c..;x/b": ("redirect", "/a/..;x/b"),  # after a backslash the parameters stay
    "/a/%00b": ("reject", ""),
}


@pytest.mark.parametrize(("path", "expected"), ENVOY_PATHS.items(), ids=list(ENVOY_PATHS))
def test_the_model_of_envoys_normalisation(path: str, expected: tuple[str, str]) -> None:
    seen = envoy_path(path, NORMALISED)
    assert (seen.action, seen.path if seen.action != "reject" else "") == expected


def test_envoy_normalises_as_the_model_says(gateway: NativeConnector) -> None:
    """Each path above through the real listener: the path the backend is sent, Envoy's 307 and
    its Location, or its 400."""
    got: dict[str, tuple[str, str]] = {}
    for path in ENVOY_PATHS:
        answer = raw(gateway, path, {"host": "echo.test"})
        if answer.backend is not None:
            got[path] = ("route", json.loads(answer.body)["path"])
        elif answer.status == 307:
            got[path] = ("redirect", answer.headers["location"])
        else:
            got[path] = ("reject" if answer.status == 400 else str(answer.status), "")
    assert got == ENVOY_PATHS


def test_on_a_platform_listener_the_path_is_predicted_as_sent_and_said_so() -> None:
    """Istio and Envoy Gateway: the tool renders no listener there, so it does not know how paths
    are normalised; the prediction is on the path as sent, and the note names the settings."""
    from connectors import match
    from connectors.match.outcome import path_handling
    from connectors.model import Gateway, Route, RouteMatch, StringMatch, WeightedBackend

    b = (WeightedBackend("b", 100),)
    gw = Gateway(
        "k",
        (
            Route("limited", b, hosts=("h",), matches=(RouteMatch(StringMatch("prefix", "/limited")),)),
            Route("all", b, hosts=("h",)),
        ),
    )

    class Platform:  # a connector without path_handling (as the Kubernetes ones)
        pass

    paths = path_handling(Platform(), gw, match.build(host="h", path="/"))  # type: ignore[arg-type]
    assert paths.known is False
    e = match.explain(gw, match.build(host="h", path="/x/../limited/y"), paths=paths)
    assert e.route == "all" and e.routed_path == "/x/../limited/y"
    (note,) = e.notes
    assert "meshConfig.pathNormalization" in note and "ClientTrafficPolicy spec.path" in note
    assert match.explain(gw, match.build(host="h", path="/limited/y"), paths=paths).notes == ()


def test_other_escaped_slash_actions_are_modelled_too() -> None:
    reject = PathHandling(True, True, "REJECT_REQUEST")
    assert envoy_path("/a%2Fb", reject).action == "reject"
    forward = PathHandling(True, True, "UNESCAPE_AND_FORWARD")
    assert (envoy_path("/a%2F..%2Fb", forward).action, envoy_path("/a%2F..%2Fb", forward).path) == (
        "route",
        "/b",
    )
    as_sent = PathHandling()
    assert envoy_path("/static/../limited%2Fx", as_sent).path == "/static/../limited%2Fx"


def serve_an_older_listener(gw: NativeConnector) -> None:
    """What a gateway started by a version without path normalisation serves after the upgrade:
    its listener file without the three settings, loaded by Envoy and recorded as applied."""
    body = body_of(gw.layout.lds.read_text(encoding="utf-8"))
    assert body is not None
    resources = json.loads(body)
    for listener in resources:
        for f in listener["filter_chains"][0]["filters"]:
            for key in ("normalize_path", "merge_slashes", "path_with_escaped_slashes_action"):
                f["typed_config"].pop(key)
    version = gw._deploy.next_version()
    text = file_text(version, json.dumps(resources, separators=(",", ":")))
    gw._deploy.pusher.push(gw.layout.lds, text, xds.LDS, version)
    gw._note_applied(gw._current())
    gw._state.write(gw.state_dir)


def listener_updates(gw: NativeConnector) -> int:
    name = "listener_manager.lds.update_success"
    return int(gw.admin.stats(f"^{name.replace('.', '[.]')}$").get(name) or 0)


def run(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_an_upgraded_gateway_is_rewritten_by_its_first_change_and_no_drift_is_reported(
    gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_an_older_listener(gateway)
    assert raw(gateway, "/static/../limited/x").backend == "v2"  # the old listener: the bypass
    assert listener_paths.outdated(gateway.layout) == ["main"]
    rc, out, err = run(gateway, capsys, "drift")
    assert rc == 0 and "No drift" in out, out + err  # the tool wrote that file: not drift
    # match predicts what that listener does, and says why
    data = match_json(gateway, capsys, "--host", HOST, "--path", "/static/../limited/x")
    assert data["route"] == "static" and data["sent"]["route"] == "static" and data["sent"]["agrees"]
    assert any("does not normalise paths" in n and "older gatewayctl-tui" in n for n in data["notes"])
    # the first change, whatever it is, rewrites the listener, and the plan says so
    lds_before = listener_updates(gateway)
    plan = gateway.plan([set_rate_limit(gateway.get_route("limited"), RateLimit(4, 60.0, 4))])
    assert any("(LDS)" in c.label and "path handling" in c.label for c in plan.native_changes), plan
    change = next(c for c in plan.native_changes if "path handling" in c.label)
    assert '-  "normalize_path": false,' in change.diff and '+  "normalize_path": true,' in change.diff
    assert any(
        "rewrites the listener" in w and "does not normalise request paths" in w for w in plan.warnings
    ), plan.warnings
    assert Change(gateway).apply(plan).verification.ok
    answer = raw(gateway, "/static/../limited/x")
    assert answer.backend == "v1" and json.loads(answer.body)["path"] == "/limited/x"
    assert listener_paths.outdated(gateway.layout) == []
    rc, out, err = run(gateway, capsys, "drift")
    assert rc == 0 and "No drift" in out, out + err
    # once: the next change leaves the listener alone
    plan = gateway.plan([set_rate_limit(gateway.get_route("limited"), RateLimit(5, 60.0, 5))])
    assert not any("(LDS)" in c.label for c in plan.native_changes)
    assert not any("rewrites the listener" in w for w in plan.warnings)
    assert Change(gateway).apply(plan).verification.ok
    assert listener_updates(gateway) == lds_before + 1
