"""``match`` predicts what Envoy's JWT check does with every place a token can be (issue 13 item 4,
defect 2): the Authorization header AND the ``access_token`` query parameter by default, every token
found must be valid, the first ``access_token`` only, ``Bearer`` case-sensitive, a provider's own
``from_headers`` instead of both, optional tokens. Each case is sent through a real Envoy: the
prediction must be what Envoy answered, and the answer must be the one measured by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.demo.config import demo_config_text
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.native_support import AUDIENCE, ISSUER, DemoBackends, JwtSigner, start_native_gateway
from tui.cli import main

HOST = "jwt.test"
# Beside the demo's routes: an optional token, and a token in a header of the provider's own.
EXTRA_ROUTES = """\
  - name: jwt-optional
    hosts: [{host}]
    match: {{prefix: /optional}}
    backends: [{{name: v1, weight: 100}}]
    jwt:
      required: false
      providers:
        - {{name: p, issuer: "{issuer}", audiences: [{audience}], jwks: '{jwks}'}}
  - name: jwt-header
    hosts: [{host}]
    match: {{prefix: /header}}
    backends: [{{name: v2, weight: 100}}]
    jwt:
      providers:
        - {{name: p, issuer: "{issuer}", audiences: [{audience}], jwks: '{jwks}', from_headers: [x-jwt]}}
"""


@pytest.fixture(scope="module")
def jwt_gateway(
    tmp_path_factory: pytest.TempPathFactory, backends: DemoBackends, jwt_signer: JwtSigner
) -> Iterator[NativeConnector]:
    root = tmp_path_factory.mktemp("jwt-gateway")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
        mp.setenv("GATEWAYCTL_CONFIG_DIR", str(root / "config-dir"))
        config = root / "jwt.yaml"
        text = demo_config_text(
            listener_port=free_port(),
            v1=backends.v1.address,
            v2=backends.v2.address,
            jwks=jwt_signer.jwks,
            issuer=ISSUER,
            audience=AUDIENCE,
        )
        extra = EXTRA_ROUTES.format(host=HOST, issuer=ISSUER, audience=AUDIENCE, jwks=jwt_signer.jwks)
        config.write_text(text + extra, encoding="utf-8")
        gateway = start_native_gateway(config, root / "state")
        yield gateway
        gateway.close()
        gateway.stop()


def tokens(signer: JwtSigner) -> dict[str, str]:
    return {
        "good": signer.token(),
        "garbage": "garbage",
        "other-key": JwtSigner().token(),  # well formed, signed by a key the JWKS does not hold
        "expired": signer.token(expires_in=-300),
        "other-audience": signer.token(audience="someone-else"),
        "other-issuer": signer.token(issuer="https://elsewhere.test"),
    }


# (host, path with {token names}, headers, the status Envoy answers: measured with curl first)
CASES = [
    ("api.demo", "/secure/x?access_token={good}", [], 200),
    ("api.demo", "/secure/x?access_token={garbage}", [], 401),
    ("api.demo", "/secure/x?access_token={good}", ["authorization: Basic dXNlcjpwdw=="], 200),
    ("api.demo", "/secure/x?access_token={garbage}", ["authorization: Bearer {good}"], 401),
    ("api.demo", "/secure/x?access_token={good}", ["authorization: Bearer {garbage}"], 401),
    ("api.demo", "/secure/x?access_token={good}", ["authorization: Bearer {good}"], 200),
    ("api.demo", "/secure/x?access_token={good}&access_token={garbage}", [], 200),
    ("api.demo", "/secure/x?access_token={garbage}&access_token={good}", [], 401),
    ("api.demo", "/secure/x?Access_Token={good}", [], 401),
    ("api.demo", "/secure/x?access_token=", ["authorization: Bearer {good}"], 401),
    ("api.demo", "/secure/x?a=1&access_token={good}", [], 200),
    ("api.demo", "/secure/x", ["authorization: bearer {good}"], 401),
    ("api.demo", "/secure/x", ["authorization: Bearer {good}", "authorization: Bearer {good}"], 401),
    ("api.demo", "/secure/x", ["authorization: Bearer {other-key}"], 401),
    ("api.demo", "/secure/x", ["authorization: Bearer {expired}"], 401),
    ("api.demo", "/secure/x", ["authorization: Bearer {other-audience}"], 403),  # 403: audience
    ("api.demo", "/secure/x", ["authorization: Bearer {other-issuer}"], 401),
    ("api.demo", "/secure/x", ["authorization: Bearer {good}"], 200),
    (HOST, "/optional", [], 200),
    (HOST, "/optional?access_token={good}", [], 200),
    (HOST, "/optional?access_token={garbage}", [], 401),
    (HOST, "/optional?access_token={garbage}", ["authorization: Bearer {good}"], 401),
    (HOST, "/optional?access_token={good}", ["authorization: Bearer {garbage}"], 401),
    (HOST, "/header", ["x-jwt: {good}"], 200),
    (HOST, "/header", ["x-jwt: Bearer {good}"], 401),
    (HOST, "/header", ["authorization: Bearer {good}"], 401),
    (HOST, "/header?access_token={good}", [], 401),
]


def _case_id(case: tuple[str, str, list[str], int]) -> str:
    host, path, headers, status = case
    return f"{host}{path}|{'|'.join(headers)}->{status}".replace("{", "").replace("}", "")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_the_jwt_prediction_is_what_envoy_answers(
    jwt_gateway: NativeConnector,
    jwt_signer: JwtSigner,
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, str, list[str], int],
) -> None:
    host, path, headers, status = case
    values = tokens(jwt_signer)
    args = ["--host", host, "--path", path.format_map(values)]
    for h in headers:
        args += ["-H", h.format_map(values)]
    capsys.readouterr()
    rc = main(["match", *args, "--send", "-o", "json", "--gateway", str(jwt_gateway.state_dir)])
    out, err = capsys.readouterr()
    data: dict[str, Any] = json.loads(out)
    sent = data["sent"]
    assert sent["status"] == status, (sent, data["policies"])  # Envoy answers as measured by hand
    predicted = data["status"] if data["answered_by"] != "upstream" else 200
    assert predicted == status, data["policies"]
    assert sent["agrees"] and rc == 0, (sent, err)
    assert values["good"] not in out  # the token itself is never echoed


def test_a_pasted_curl_with_an_access_token(
    jwt_gateway: NativeConnector, jwt_signer: JwtSigner, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cold tester's command: a valid token in the query reaches the backend, as predicted."""
    url = f"{jwt_gateway.listener_url()}/secure/x?access_token={jwt_signer.token()}"
    capsys.readouterr()
    rc = main(
        [
            "match",
            "--curl",
            f"curl -H 'Host: api.demo' '{url}'",
            "--send",
            "--gateway",
            str(jwt_gateway.state_dir),
        ]
    )
    out, _ = capsys.readouterr()
    assert rc == 0, out
    assert "access_token parameter" in out and "refused" not in out
    assert "Agrees:    yes" in out
