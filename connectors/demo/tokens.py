"""The demo's JWT issuer: a fresh RSA key per run, its JWKS for the gateway, and tokens for clients.

The key lives only in memory, so tokens from an earlier demo run are refused by a new one.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://issuer.demo"
AUDIENCE = "demo-api"


class DemoIssuer:
    """Signs RS256 tokens that the demo gateway's ``api-jwt`` route accepts."""

    def __init__(self, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex[:8]
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def jwks(self) -> str:
        """The public key set as the inline JSON string the gateway config carries."""
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        public.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return json.dumps({"keys": [public]}, separators=(",", ":"))

    def token(self, subject: str = "demo-user", *, ttl: float = 3600.0, audience: str | None = None) -> str:
        """A signed token for ``subject`` valid for ``ttl`` seconds (negative: already expired)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience or self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + int(ttl),
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
