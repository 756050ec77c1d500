"""Planted secrets are found 0 times in every file the tool writes for people and in its output.

A real gateway whose routes match on ``authorization: Bearer ...`` and ``x-api-key``, set an
API key and a cookie on the way to the backend, and hold an inline JWKS with its private key's
members. Changes, undos, reads, a failing command, the console's detail and YAML views, and an
export; then every file under the state folder and every output is searched. Only the files that
*are* the configuration (the YAML, Envoy's xDS files, the YAML's undo copies) may hold them, and
after the undos they still do: undo restored the real values, not the masks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from connectors.http_client import http_client
from connectors.kube.export import export_changes
from connectors.kube.patching import ObjectChange
from connectors.kube.resources import Resource
from connectors.native import NativeConnector
from connectors.paths import state_dir
from tests.native_support import DemoBackends, JwtSigner, start_native_gateway, write_native_config
from tests.test_tui_stories import SIZE, filter_to, open_console, settle
from tui.app import ConsoleApp
from tui.cli import main

PLANTED = {
    "bearer": "planted-bearer-9f8e7d6c",
    "api_key": "planted-apikey-1a2b3c4d",
    "set_key": "planted-setkey-5e6f7a8b",
    "cookie": "planted-cookie-0c0d0e0f",
    "deny_bearer": "planted-denybearer-2d3e4f",
    "deny_key": "planted-denykey-5a6b7c",
    "user_bearer": "planted-userbearer-8d9e0f",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.planted-jwtsig-77",
    "upstream_auth": "planted-upauth-1f2e3d",
    "url_password": "planted-urlpass-4c5b6a",
    "malformed": "planted-malformed-7e8f9a",
    "curl_key": "planted-curlkey-0a1b2c",
    "curl_cookie": "planted-curlcookie-3d4e5f",
    "curl_token": "planted-curltoken-6a7b8c",
}

SECRET_ROUTES = """\
  - name: vault
    hosts: [vault.test]
    match:
      prefix: /
      headers:
        - {{name: authorization, exact: "Bearer {bearer}"}}
        - {{name: x-api-key, exact: {api_key}}}
    backends: [{{name: v1, weight: 50}}, {{name: v2, weight: 50}}]
    headers:
      request:
        set: {{x-api-key: {set_key}, cookie: "session={cookie}"}}
  - name: hidden
    hosts: [hidden.test]
    match:
      prefix: /
      headers:
        - {{name: x-client-id, exact: "Bearer {user_bearer}"}}  # not in the access log
        - {{name: x-sig, exact: "{jwt}"}}
    backends: [{{name: v1, weight: 100}}]
    headers:
      request:
        set: {{x-upstream-auth: {upstream_auth}}}
    jwt:
      providers:
        - name: remote
          issuer: https://remote.test
          jwks_uri: "https://jwksuser:{url_password}@remote.test/jwks.json"
  - name: signed
    hosts: [signed.test]
    backends: [{{name: v1, weight: 100}}]
    jwt:
      providers:
        - name: leaky
          issuer: https://leaky.test
          jwks: '{jwks}'
"""
CURL = (
    f"curl -H 'x-api-key: {PLANTED['curl_key']}' -H 'Cookie: sid={PLANTED['curl_cookie']}' "
    f"'http://vault.test/x?token={PLANTED['curl_token']}'"
)
# Files that are the configuration itself: they must hold the secrets for Envoy to enforce them
# (applied.yaml: the last applied YAML, pushed again when an interrupted change is rolled back).
CONFIG_CARRIERS = {"xds", "config-undo", "applied.yaml"}


def _private_jwks() -> tuple[str, list[str]]:
    """An inline JWKS that (wrongly, as operators do) holds a private key; its private members."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.update({"kid": "leaky", "alg": "RS256"})
    return json.dumps({"keys": [jwk]}), [jwk[m] for m in ("d", "p", "q", "dp", "dq", "qi")]


@pytest.fixture
def secret_gateway(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[NativeConnector, list[str]]]:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config-dir"))
    config = write_native_config(tmp_path / "config", backends, jwt_signer)
    jwks, private = _private_jwks()
    config.write_text(config.read_text() + SECRET_ROUTES.format(jwks=jwks, **PLANTED))
    gateway = start_native_gateway(config, tmp_path / "state")
    yield gateway, [*PLANTED.values(), *private]
    gateway.close()
    gateway.stop()


def _vault_answers(gw: NativeConnector) -> tuple[int, int]:
    """(with the planted credentials, without): Envoy matches the route only with them."""
    headers = {
        "host": "vault.test",
        "authorization": f"Bearer {PLANTED['bearer']}",
        "x-api-key": PLANTED["api_key"],
    }
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        return c.get("/", headers=headers).status_code, c.get("/", headers={"host": "vault.test"}).status_code


def _run(capsys: pytest.CaptureFixture[str], gw: NativeConnector, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out + err


async def _screens(gw: NativeConnector) -> list[str]:
    """The console's detail and YAML views of both secret routes, as screenshots (SVG text)."""
    shots = []
    app = ConsoleApp(gw)
    async with app.run_test(size=SIZE) as pilot:
        await open_console(pilot)
        for route in ("vault", "signed"):
            await filter_to(pilot, f"^{route}$")
            await pilot.press("enter")
            await settle(pilot)
            shots.append(app.export_screenshot())
            await pilot.press("y")
            await settle(pilot)
            shots.append(app.export_screenshot())
            await pilot.press("escape", "escape", "escape")
            await settle(pilot)
    assert any("vault.test" in s for s in shots) and any("leaky" in s for s in shots)
    return shots


def _export(target: Path) -> list[Path]:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "vault", "namespace": "shop"},
        "spec": {
            "rules": [
                {
                    "matches": [
                        {"headers": [{"name": "Authorization", "value": f"Bearer {PLANTED['bearer']}"}]}
                    ],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "set": [{"name": "x-api-key", "value": PLANTED["set_key"]}]
                            },
                        }
                    ],
                }
            ]
        },
    }
    resource = Resource("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")
    change = ObjectChange(resource, "shop", "vault", "patch", route, route)
    return export_changes([change], target / "review.yaml", title="vault")


async def test_planted_secrets_appear_in_no_file_or_output(
    secret_gateway: tuple[NativeConnector, list[str]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gw, secrets = secret_gateway
    assert _vault_answers(gw) == (200, 404)
    outputs: list[str] = []
    for args in [
        ("set-weights", "vault", "v1=80", "v2=20"),
        ("set-rate-limit", "vault", "--requests", "100", "--interval", "1s"),
        ("set-cors", "vault", "--allow-origin", "https://app.example"),
        ("set-rate-limit", "signed", "--requests", "50"),
        ("undo",),
        ("undo",),
        ("set-weights", "vault", "v1=50", "v2=45"),  # refused: the error names no secret
        (
            "deny",
            "vault",
            "--client",
            f"proxy-authorization=Bearer {PLANTED['deny_bearer']}",
            "--client",
            f"x-auth-token={PLANTED['deny_key']}",
            "--show-native",
        ),
        ("set-weights", "vault", "v1=70", "v2=30"),
        ("undo",),  # takes the deny rules' real values from the route, not the masks
        ("set-rate-limit", "hidden", "--requests", "7"),
        ("undo",),
        ("match", "--host", "vault.test", "-H", f"x-api-key {PLANTED['malformed']}"),  # refused
        ("match", "--curl", CURL),
        ("match", "--curl", CURL, "-o", "json"),
        ("routes",),
        ("routes", "-o", "json"),
        ("routes", "-o", "yaml"),
        ("describe", "vault"),
        ("describe", "signed"),
        ("describe", "hidden"),
        ("history",),
        ("history", "-o", "json"),
    ]:
        rc, text = _run(capsys, gw, *args)
        refused = args[-1] == "v2=45" or "-H" in args
        assert (rc != 0) == refused, (args, text)
        outputs.append(text)
    outputs += await _screens(gw)
    written = _export(tmp_path / "exports")
    assert "fill them in before applying" in written[0].read_text()

    # Undo restored the real values: the YAML holds them and Envoy still enforces them.
    assert PLANTED["bearer"] in gw.config_path.read_text()
    assert _vault_answers(gw) == (200, 404)
    vault = gw.get_route("vault")
    assert vault.rate_limit is not None and vault.cors is None  # two changes undone, one kept
    assert vault.deny is not None and PLANTED["deny_key"] in gw.config_path.read_text()
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        vault_client = {
            "host": "vault.test",
            "authorization": f"Bearer {PLANTED['bearer']}",
            "x-api-key": PLANTED["api_key"],
        }
        assert c.get("/", headers={**vault_client, "x-auth-token": PLANTED["deny_key"]}).status_code == 403

    found = [f"output {i}: {s[:12]}" for i, text in enumerate(outputs) for s in secrets if s in text]
    state = [p for p in state_dir().rglob("*") if not set(p.relative_to(state_dir()).parts) & CONFIG_CARRIERS]
    for path in [*state, *written]:
        if path.is_file():
            data = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path}: {s[:12]}" for s in secrets if s in data]
    assert found == []
    assert (gw.state_dir / "applied.yaml").stat().st_mode & 0o077 == 0  # a carrier: the owner's only


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (  # a field path in a message is not a credential header line
            "headers.request.set.authorization: a header value must not contain CR",
            "headers.request.set.authorization: a header value must not contain CR",
        ),
        ("authorization: Basic dXNlcjpwdw==", "authorization: Basic <redacted>"),
        ("x-api-key: abc123", "x-api-key: <redacted>"),
        ("jwks_uri https://u:pa55word@idp.example/jwks", "jwks_uri https://u:<redacted>@idp.example/jwks"),
        ("https://idp.example:8443/jwks", "https://idp.example:8443/jwks"),
    ],
)
def test_messages_keep_their_words_and_lose_their_secrets(text: str, shown: str) -> None:
    from connectors.redact import redact_text

    assert redact_text(text) == shown


def test_one_rule_for_header_names_in_header_maps_and_deny_rules() -> None:
    from connectors.redact import MASK, redact

    route = {
        "headers": {"request": {"set": {"x-upstream-auth": "s1", "x-gateway": "shop"}}},
        "deny": {
            "clients": [{"header": "x-api-key", "value": "s2"}, {"header": "x-user-id", "value": "bot"}]
        },
        "jwt": {"providers": [{"name": "p", "jwks": '{"keys": [{"kty": "oct", "k": "s3"}]}'}]},
    }
    masked = redact(route)
    assert masked["headers"]["request"]["set"] == {"x-upstream-auth": MASK, "x-gateway": "shop"}
    assert masked["deny"]["clients"] == [
        {"header": "x-api-key", "value": MASK},
        {"header": "x-user-id", "value": "bot"},
    ]
    assert "s3" not in masked["jwt"]["providers"][0]["jwks"]
