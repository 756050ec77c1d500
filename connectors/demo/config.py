"""The demo gateway's native YAML: one listener, two backends, a route for each feature worth showing.

Routes (first match wins inside a host, in file order):

    shop.demo  /static  -> shop-static   path routing, all to v2
    shop.demo  /        -> shop          weighted canary, v1 90 / v2 10
    api.demo   /limited -> api-limited   rate limit 10 req/s, burst 20
    api.demo   /cors    -> api-cors      CORS for https://app.shop.demo and http://localhost:*
    api.demo   /secure  -> api-jwt       JWT required (RS256, issuer https://issuer.demo)
    api.demo   /        -> api           host routing, all to v1
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..paths import private_dir

GATEWAY_NAME = "demo"
SHOP_HOST = "shop.demo"
API_HOST = "api.demo"
ALLOWED_ORIGIN = "https://app.shop.demo"
REFUSED_ORIGIN = "https://evil.example"
RATE_LIMIT_REQUESTS = 10
RATE_LIMIT_BURST = 20


@dataclass(frozen=True)
class DemoRoute:
    """How a client reaches a demo route (for the traffic generator and the printed examples)."""

    name: str
    host: str
    path: str


ROUTES = (
    DemoRoute("shop-static", SHOP_HOST, "/static/app.css"),
    DemoRoute("shop", SHOP_HOST, "/"),
    DemoRoute("api-limited", API_HOST, "/limited/orders"),
    DemoRoute("api-cors", API_HOST, "/cors/profile"),
    DemoRoute("api-jwt", API_HOST, "/secure/account"),
    DemoRoute("api", API_HOST, "/catalog"),
)


def route(name: str) -> DemoRoute:
    return next(r for r in ROUTES if r.name == name)


_TEMPLATE = """\
# The gatewayctl-tui demo gateway (written by `gatewayctl-tui demo`; edits through the console or the
# headless commands are saved back here, comments and layout kept).
name: {name}
listeners:
  - {{name: main, address: 127.0.0.1, port: {listener_port}}}
backends:
  - {{name: v1, endpoints: ["{v1}"]}}
  - {{name: v2, endpoints: ["{v2}"]}}
routes:
  # Path routing: static assets are served by v2 only.
  - name: shop-static
    hosts: [{shop}]
    match: {{prefix: /static}}
    backends: [{{name: v2, weight: 100}}]
  # The canary: 90% of the shop's traffic to v1, 10% to v2.
  - name: shop
    hosts: [{shop}]
    match: {{prefix: /}}
    backends: [{{name: v1, weight: 90}}, {{name: v2, weight: 10}}]
    timeout: 5s
    retries: {{attempts: 2, per_try_timeout: 1s, retry_on: [5xx, connect-failure]}}
  # A local rate limit: 10 requests per second, bursts up to 20; the traffic generator exceeds it.
  - name: api-limited
    hosts: [{api}]
    match: {{prefix: /limited}}
    backends: [{{name: v1, weight: 100}}]
    rate_limit: {{requests: {requests}, interval: 1s, burst: {burst}}}
  # CORS: the shop's web app may call this API from the browser.
  - name: api-cors
    hosts: [{api}]
    match: {{prefix: /cors}}
    backends: [{{name: v1, weight: 100}}]
    cors:
      allow_origins: [{{exact: "{origin}"}}, {{regex: "http://localhost(:[0-9]+)?"}}]
      allow_methods: [GET, POST]
      allow_headers: [content-type, x-user-id]
      max_age: 10m
  # JWT: a valid token from the demo issuer is required (a new signing key every demo run).
  - name: api-jwt
    hosts: [{api}]
    match: {{prefix: /secure}}
    backends: [{{name: v2, weight: 100}}]
    jwt:
      providers:
        - name: demo-issuer
          issuer: "{issuer}"
          audiences: [{audience}]
          jwks: '{jwks}'
  # Host routing: everything else on api.demo goes to v1.
  - name: api
    hosts: [{api}]
    match: {{prefix: /}}
    backends: [{{name: v1, weight: 100}}]
"""


def demo_config_text(
    *, listener_port: int, v1: str, v2: str, jwks: str, issuer: str, audience: str, name: str = GATEWAY_NAME
) -> str:
    """The demo's YAML for backends at ``v1``/``v2`` (host:port) and the issuer's JWKS (JSON text)."""
    if "'" in jwks:
        raise ValueError("the JWKS must be JSON without single quotes")  # it sits in a '...' YAML scalar
    return _TEMPLATE.format(
        name=name,
        listener_port=listener_port,
        v1=v1,
        v2=v2,
        shop=SHOP_HOST,
        api=API_HOST,
        requests=RATE_LIMIT_REQUESTS,
        burst=RATE_LIMIT_BURST,
        origin=ALLOWED_ORIGIN,
        issuer=issuer,
        audience=audience,
        jwks=jwks,
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only (the token file; the config holds no secret but the
    same care costs nothing)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
