"""Pytest plugin: real native gateways (a real Envoy in front of real demo backends) for tests.

Fixtures
    jwt_signer             session  an RSA key, its inline JWKS and ``token(...)`` to mint JWTs
    backends               module   two running DemoBackends, ``backends.v1`` and ``backends.v2``
    native_config          function a YAML config (with comments) in tmp_path: host and path routing,
                                    a 90/10 canary, a rate-limited, a CORS and a JWT route
    native_gateway         function a started, owned NativeConnector on ``native_config`` (stopped
                                    at teardown; GATEWAYCTL_STATE_DIR/CONFIG_DIR point into tmp_path)
    shared_native_gateway  module   the same, one per test module: tests restore what they change

Hosts in ``native_config``: v1.test, v2.test (host routing), paths.test (``/v2/`` → v2, else v1),
canary.test (v1 90 / v2 10), limited.test (5 per minute), cors.test (https://app.example and
``https://*.trusted.example``), secure.test (JWT from issuer ``ISSUER`` for audience ``AUDIENCE``).
Without an Envoy binary the fixtures fail under ``CI=true`` and skip elsewhere.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.demo.backend import DemoBackend
from connectors.errors import ProcessStartFailed
from connectors.http_client import http_client
from connectors.native import NativeConnector
from connectors.native.process import find_envoy, free_port

ISSUER = "https://issuer.test"
AUDIENCE = "gatewayctl"
KEY_ID = "test-key"


def require_envoy() -> str:
    """The Envoy binary, or fail (CI=true) / skip the test with the reason."""
    try:
        return find_envoy()
    except ProcessStartFailed as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Envoy is required under CI: {exc}")
        pytest.skip(f"Envoy not available: {exc}")


class JwtSigner:
    """Signs RS256 tokens; ``jwks`` is the public key set to put inline in the config."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        public.update({"kid": KEY_ID, "alg": "RS256", "use": "sig"})
        self.jwks = json.dumps({"keys": [public]})

    def token(
        self,
        subject: str = "alice",
        *,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        expires_in: float = 600,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + int(expires_in)}
        payload.update(claims)
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": KEY_ID})


@dataclass
class DemoBackends:
    v1: DemoBackend
    v2: DemoBackend

    def __getitem__(self, name: str) -> DemoBackend:
        return {"v1": self.v1, "v2": self.v2}[name]

    def reset(self) -> None:
        for b in (self.v1, self.v2):
            b.fail_rate, b.delay = 0.0, 0.0


CONFIG_TEMPLATE = """\
# Test gateway: one listener in front of two demo backends.
name: {name}
listeners:
  - {{name: main, address: 127.0.0.1, port: {port}}}
backends:
  - name: v1            # stable
    endpoints: ["{v1}"]
  - name: v2            # canary
    endpoints: ["{v2}"]
routes:
  # host routing: each host has its own backend
  - name: host-v1
    hosts: [v1.test]
    backends: [{{name: v1, weight: 100}}]
  - name: host-v2
    hosts: [v2.test]
    backends: [{{name: v2, weight: 100}}]
  # path routing on one host; the first route that matches wins
  - name: path-v2
    hosts: [paths.test]
    match: {{prefix: /v2/}}
    backends: [{{name: v2, weight: 100}}]
  - name: path-v1
    hosts: [paths.test]
    match: {{prefix: /}}
    backends: [{{name: v1, weight: 100}}]
  # the canary: most traffic stays on v1
  - name: canary
    hosts: [canary.test]
    backends:
      - name: v1
        weight: 90   # stable share
      - name: v2
        weight: 10   # canary share
  - name: limited
    hosts: [limited.test]
    backends: [{{name: v1, weight: 100}}]
    rate_limit: {{requests: 5, interval: 1m, burst: 5}}
  - name: cors
    hosts: [cors.test]
    backends: [{{name: v1, weight: 100}}]
    cors:
      allow_origins: [{{exact: "https://app.example"}}, {{regex: "https://[a-z]+\\\\.trusted\\\\.example"}}]
      allow_methods: [GET, POST]
  - name: secure
    hosts: [secure.test]
    backends: [{{name: v1, weight: 100}}]
    jwt:
      providers:
        - name: test
          issuer: {issuer}
          audiences: [{audience}]
          jwks: '{jwks}'
"""


def write_native_config(
    directory: Path, backends: DemoBackends, signer: JwtSigner, *, name: str = "test-gw", port: int = 0
) -> Path:
    """Write the test gateway's YAML into ``directory`` (a free listener port unless given)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "gateway.yaml"
    path.write_text(
        CONFIG_TEMPLATE.format(
            name=name,
            port=port or free_port(),
            v1=backends.v1.address,
            v2=backends.v2.address,
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks=signer.jwks,
        ),
        encoding="utf-8",
    )
    return path


def start_native_gateway(config: Path, state_root: Path, **kwargs: Any) -> NativeConnector:
    """Start an owned gateway on ``config`` with its state under ``state_root``."""
    require_envoy()
    kwargs.setdefault("owned", True)
    kwargs.setdefault("access_log_headers", ("x-user-id",))
    return NativeConnector.start(config, state_root / "gateways" / config.stem, **kwargs)


def client(gateway: NativeConnector) -> httpx.Client:
    """An HTTP client aimed at the gateway's first listener (no proxies from the environment)."""
    return http_client(base_url=gateway.listener_url(), timeout=5.0)


@pytest.fixture(scope="session")
def jwt_signer() -> JwtSigner:
    return JwtSigner()


@pytest.fixture(scope="module")
def backends() -> Iterator[DemoBackends]:
    pair = DemoBackends(DemoBackend("v1").start(), DemoBackend("v2").start())
    yield pair
    pair.v1.stop()
    pair.v2.stop()


@pytest.fixture
def native_config(tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner) -> Path:
    return write_native_config(tmp_path / "config", backends, jwt_signer)


@pytest.fixture
def native_gateway(
    native_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[NativeConnector]:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config-dir"))
    gateway = start_native_gateway(native_config, tmp_path / "state")
    yield gateway
    gateway.close()
    gateway.stop()


@pytest.fixture(scope="module")
def shared_native_gateway(
    tmp_path_factory: pytest.TempPathFactory, backends: DemoBackends, jwt_signer: JwtSigner
) -> Iterator[NativeConnector]:
    root = tmp_path_factory.mktemp("shared-gateway")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
        mp.setenv("GATEWAYCTL_CONFIG_DIR", str(root / "config-dir"))
        config = write_native_config(root / "config", backends, jwt_signer)
        gateway = start_native_gateway(config, root / "state")
        yield gateway
        gateway.close()
        gateway.stop()
