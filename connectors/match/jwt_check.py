"""The JWTs Envoy's jwt_authn filter finds in a request, and whether it lets the request through —
worked out as the filter does it (envoyproxy/envoy, source/extensions/filters/http/jwt_authn:
extractor.cc, authenticator.cc, verifier.cc; checked against a real Envoy in tests/test_match_jwt.py):

- Where: a provider's ``from_headers`` (the whole value: the native connector writes no
  ``value_prefix``); without them the default locations, both of them: the ``Authorization`` header
  after ``Bearer `` (case-sensitive, found anywhere in the value) and the first ``access_token``
  query parameter (an empty one is a token too, and a malformed one).
- Every token found must be valid: a good header token and a bad ``access_token`` is a 401.
  None found is "Jwt is missing".
- A token: three base64url parts with JSON header and payload, the provider's issuer, ``exp``/``nbf``
  with Envoy's 60 s clock skew, an audience the provider lists, and a signature that one key of the
  inline JWKS verifies (a remote JWKS cannot be checked offline: said so).
- Several providers: any one accepting all of its tokens lets the request through. ``required:
  false`` (Envoy's allow_missing) passes a request with no token at all; a token that is there must
  be valid all the same (measured on Envoy 1.40: a good header token beside a bad ``access_token``
  is refused on an optional route too).
"""

from __future__ import annotations

import base64
import binascii
import json
import string
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from ..model import Jwt, JwtProvider
from .request import Request

BEARER = "Bearer "
ACCESS_TOKEN = "access_token"
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_.")
CLOCK_SKEW_S = 60  # jwt_verify_lib's kClockSkewInSecond: no clock_skew_seconds is written

# Envoy's own words for each failure (jwt_verify_lib's status strings), as its 401 body says them.
MISSING = "Jwt is missing"
BAD_FORMAT = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"
UNKNOWN_ISSUER = "Jwt issuer is not configured"
EXPIRED = "Jwt is expired"
NOT_YET_VALID = "Jwt not yet valid"
AUDIENCE = "Audiences in Jwt are not allowed"
SIGNATURE = "Jwt verification fails"


@dataclass(frozen=True)
class Token:
    """One token and where Envoy found it."""

    where: str  # "the Authorization header", "the access_token parameter", "header x-jwt"
    value: str
    issuers: tuple[str, ...]  # the providers' issuers that look for a token there


@dataclass(frozen=True)
class Verdict:
    """What jwt_authn does with a request: let it through or refuse it (401), and why."""

    passes: bool
    reason: str
    checked: bool = True  # False: a signature could not be checked offline (remote JWKS)
    status: int = 401  # when refused: 403 for an audience not allowed, else 401 (Envoy's filter.cc)


def _header_tokens(provider: JwtProvider, request: Request) -> list[tuple[str, str, str]]:
    """(sort key, where, token) for the header locations of ``provider``."""
    out = []
    if provider.from_headers:
        for name in provider.from_headers:
            for value in _values(request, name):
                out.append((name.lower(), f"header {name.lower()}", value))
        return out
    # The default Authorization header: one value (Envoy joins repeated ones with ","), the token
    # from the first "Bearer " on, skipping to the first base64url character.
    auth = request.header("authorization")
    if auth is not None and BEARER in auth:
        rest = auth[auth.index(BEARER) + len(BEARER) :]
        start = next((i for i, c in enumerate(rest) if c in _TOKEN_CHARS), None)
        token = rest[start:] if start is not None else auth
        out.append(("authorization" + BEARER, "the Authorization header", token))
    return out


def _values(request: Request, name: str) -> list[str]:
    if name.lower() == "authorization":  # an inline header in Envoy: repeated values are joined
        joined = request.header(name)
        return [joined] if joined is not None else []
    return [v for k, v in request.headers if k == name.lower()]


def _param_token(provider: JwtProvider, request: Request) -> str | None:
    if provider.from_headers:
        return None  # the model has no from_params; custom headers replace the default locations
    _, sep, query = request.path.partition("?")
    if not sep:
        return None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == ACCESS_TOKEN:
            return value  # the first one only
    return None


def extract(providers: tuple[JwtProvider, ...], request: Request) -> list[Token]:
    """The tokens an extractor for ``providers`` finds, in Envoy's order: header locations (by name),
    then query parameters."""
    headers: dict[tuple[str, str, str], list[str]] = {}
    params: dict[str, list[str]] = {}
    for p in providers:
        for key, where, value in _header_tokens(p, request):
            headers.setdefault((key, where, value), []).append(p.issuer)
        param = _param_token(p, request)
        if param is not None:
            params.setdefault(param, []).append(p.issuer)
    out = [Token(where, value, tuple(issuers)) for (_, where, value), issuers in sorted(headers.items())]
    out += [Token(f"the {ACCESS_TOKEN} parameter", v, tuple(i)) for v, i in params.items()]
    return out


def _b64json(part: str) -> dict[str, Any] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, binascii.Error):
        return None
    return data if isinstance(data, dict) else None


def _signature_ok(provider: JwtProvider, token: str, header: dict[str, Any]) -> bool | None:
    """Whether a key of the provider's inline JWKS verifies ``token`` (None: no inline JWKS)."""
    if not provider.jwks_inline:
        return None
    import jwt as pyjwt  # PyJWT: loaded only when a token is checked

    try:
        keys = json.loads(provider.jwks_inline).get("keys", [])
    except (ValueError, AttributeError):
        return False
    alg, kid = header.get("alg"), header.get("kid")
    for data in keys if isinstance(keys, list) else []:
        if not isinstance(data, dict):
            continue
        if kid and data.get("kid") and data.get("kid") != kid:
            continue
        if data.get("alg") and data.get("alg") != alg:
            continue
        try:
            key = pyjwt.PyJWK(data, algorithm=alg)
            pyjwt.decode(
                token,
                key,
                algorithms=[str(alg)],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except (pyjwt.PyJWTError, ValueError, TypeError):
            continue
        return True
    return False


def check(token: Token, providers: tuple[JwtProvider, ...], now: float | None = None) -> Verdict:
    """Whether Envoy accepts one token (its issuer picks the provider among ``providers``)."""
    parts = token.value.split(".")
    header = _b64json(parts[0]) if len(parts) == 3 else None
    claims = _b64json(parts[1]) if len(parts) == 3 else None
    if header is None or claims is None or "alg" not in header:
        return Verdict(False, BAD_FORMAT)
    issuer = claims.get("iss")
    provider = next((p for p in providers if p.issuer == issuer), None)
    if provider is None or issuer not in token.issuers:
        return Verdict(False, f"{UNKNOWN_ISSUER} (issuer {issuer!r})")
    now = time.time() if now is None else now
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, int | float) and exp > 0 and now > exp + CLOCK_SKEW_S:
        return Verdict(False, EXPIRED)
    if isinstance(nbf, int | float) and nbf > 0 and now + CLOCK_SKEW_S < nbf:
        return Verdict(False, NOT_YET_VALID)
    aud = claims.get("aud")
    auds = set(aud if isinstance(aud, list) else [aud])
    if provider.audiences and not auds & set(provider.audiences):
        return Verdict(False, f"{AUDIENCE} (audience {aud!r})", status=403)
    signed = _signature_ok(provider, token.value, header)
    if signed is None:
        return Verdict(True, f"from {issuer}, if its signature checks out against {provider.jwks_uri}", False)
    if not signed:
        return Verdict(False, f"{SIGNATURE} (no key of the JWKS verifies its signature)")
    return Verdict(True, f"valid, from {issuer}")


def _all_valid(tokens: list[Token], providers: tuple[JwtProvider, ...], now: float | None) -> Verdict:
    """Envoy's authenticator for one provider: every token must be valid (checked last to first)."""
    if not tokens:
        return Verdict(False, MISSING)
    verdicts = [(t, check(t, providers, now)) for t in reversed(tokens)]
    for t, v in verdicts:
        if not v.passes:
            return Verdict(False, f"the token in {t.where}: {v.reason}", status=v.status)
    checked = all(v.checked for _, v in verdicts)
    where = " and ".join(t.where for t in tokens)
    return Verdict(True, f"token in {where}: {verdicts[-1][1].reason}", checked)


def verdict(jwt: Jwt, request: Request, now: float | None = None) -> Verdict:
    """What jwt_authn does with ``request`` on a route requiring ``jwt``."""
    if not jwt.required and not extract(jwt.providers, request):
        return Verdict(True, "no token: allowed (tokens are optional on this route)")
    # requires_any: the first provider that accepts every one of its tokens lets the request through.
    results = [_all_valid(extract((p,), request), (p,), now) for p in jwt.providers]
    passed = next((v for v in results if v.passes), None)
    if passed is not None:
        return passed
    return replace(results[-1], reason="; ".join(dict.fromkeys(v.reason for v in results)))
