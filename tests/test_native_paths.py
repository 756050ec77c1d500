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

from connectors.native import NativeConnector
from connectors.native.process import free_port
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
