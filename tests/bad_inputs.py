"""The bad-input catalogue: CLI commands and gateway YAML files that must be refused with one line
naming the field. Used by test_native_bad_input_catalogue.py.

Each case is (id, what, expected): ``what`` is an argv (a CLI case) or YAML text (a file case);
``expected`` is a piece of the one error line, usually the field's path.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

BILLION_LAUGHS = (
    "name: lol\nlisteners: []\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)

BASE: dict[str, Any] = {
    "name": "catalogue",
    "listeners": [{"name": "main", "address": "127.0.0.1", "port": 1}],
    "backends": [{"name": "v1", "endpoints": ["127.0.0.1:1"]}, {"name": "v2", "endpoints": ["127.0.0.1:2"]}],
    "routes": [{"name": "ok", "hosts": ["ok.test"], "backends": [{"name": "v1", "weight": 100}]}],
}
BIG = 4_294_967_296  # uint32 max + 1


def _doc(**top: Any) -> str:
    data = copy.deepcopy(BASE)
    data.update(top)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _route(**fields: Any) -> str:
    route: dict[str, Any] = {
        "name": "bad",
        "hosts": ["bad.test"],
        "backends": [{"name": "v1", "weight": 100}],
    }
    route.update(fields)
    return _doc(routes=[*BASE["routes"], route])


def _limit(**fields: Any) -> str:
    return _route(rate_limit={"requests": 5, "interval": "1s", **fields})


def _cors(**fields: Any) -> str:
    return _route(cors={"allow_origins": [{"exact": "https://a.example"}], **fields})


def _provider(**fields: Any) -> str:
    provider = {
        "name": "p",
        "issuer": "https://issuer.example",
        "jwks_uri": "https://keys.example/jwks",
        **fields,
    }
    return _route(jwt={"providers": [provider]})


def _backend(**fields: Any) -> str:
    return _doc(backends=[*BASE["backends"], {"name": "v3", "endpoints": ["127.0.0.1:3"], **fields}])


def _listener(**fields: Any) -> str:
    return _doc(listeners=[{"name": "main", "address": "127.0.0.1", "port": 1, **fields}])


R = "routes[1]"
YAML_CASES: list[tuple[str, str, str]] = [
    # gateway names and the file itself
    ("name-empty", _doc(name=""), "name: '' is not a valid gateway name"),
    ("name-slash", _doc(name="a/b"), "name: 'a/b'"),
    ("name-traversal", _doc(name="../../../tmp/x"), "name: '../../../tmp/x'"),
    ("name-dotdot", _doc(name=".."), "name: '..'"),
    ("name-dot", _doc(name="."), "name: '.'"),
    ("name-space", _doc(name="my gateway"), "name: 'my gateway'"),
    ("name-long", _doc(name="g" * 70), "not a valid gateway name"),
    ("name-newline", _doc(name="a\nb"), "not a valid gateway name"),
    ("name-leading-dash", _doc(name="-g"), "not a valid gateway name"),
    ("name-absolute", _doc(name="/etc"), "not a valid gateway name"),
    ("billion-laughs", BILLION_LAUGHS, "aliases expand to more than"),
    ("recursive-alias", "name: g\nlisteners: &l [*l]\n", "recursive alias"),
    ("syntax", "name: g\nlisteners: [{name: main, port: 1\n", "line 3, column 1"),
    ("tab-indent", "name: g\nlisteners:\n\t- {name: main}\n", "line 3"),
    ("duplicate-key", "name: a\nname: b\nlisteners: []\n", "duplicate key 'name'"),
    ("not-a-mapping", "- a\n- b\n", "must hold a mapping"),
    ("not-a-gateway", "root:$6$salt$hash:19000:0:99999:7:::\ndaemon:*:19000::::::\n", "not a gateway config"),
    ("scalar", "just words\n", "must hold a mapping"),
    ("unknown-top-key", _doc(extra=1), "extra: unknown field"),
    ("access-log-type", _doc(access_log="yes"), "access_log: expected true or false"),
    ("listeners-not-list", _doc(listeners={"a": 1}), "listeners: expected a list"),
    ("routes-not-list", _doc(routes="x"), "routes: expected a list"),
    ("no-listeners", _doc(listeners=[]), "listeners: a gateway needs at least one listener"),
    # listeners
    ("port-zero", _listener(port=0), "listeners[0].port"),
    ("port-high", _listener(port=70000), "listeners[0].port"),
    ("port-negative", _listener(port=-1), "listeners[0].port"),
    ("port-text", _listener(port="http"), "listeners[0].port"),
    ("port-bool", _listener(port=True), "listeners[0].port"),
    ("port-float", _listener(port=80.5), "listeners[0].port"),
    ("address-name", _listener(address="localhost"), "listeners[0].address"),
    ("address-bad-ip", _listener(address="999.1.1.1"), "listeners[0].address"),
    ("listener-name-space", _listener(name="a b"), "listeners[0].name"),
    ("listener-name-slash", _listener(name="../x"), "listeners[0].name"),
    ("listener-unknown-key", _listener(tls=True), "listeners[0].tls: unknown field"),
    (
        "listener-same-port",
        _doc(listeners=[{"name": "a", "port": 1}, {"name": "b", "port": 1}]),
        "listeners[1].port",
    ),
    # backends
    ("endpoint-no-port", _backend(endpoints=["127.0.0.1"]), "backends[2].endpoints[0]"),
    ("endpoint-port-text", _backend(endpoints=["h:http"]), "backends[2].endpoints[0]"),
    ("endpoint-port-high", _backend(endpoints=["h:99999"]), "backends[2].endpoints[0]"),
    ("endpoint-port-zero", _backend(endpoints=["h:0"]), "backends[2].endpoints[0]"),
    ("endpoint-space", _backend(endpoints=["a b:80"]), "backends[2].endpoints[0]"),
    ("endpoints-empty", _backend(endpoints=[]), "backends[2].endpoints"),
    ("connect-timeout-zero", _backend(connect_timeout="0s"), "backends[2].connect_timeout"),
    ("connect-timeout-huge", _backend(connect_timeout="999999999999h"), "backends[2].connect_timeout"),
    ("connect-timeout-inf", _backend(connect_timeout=float("inf")), "backends[2].connect_timeout"),
    ("connect-timeout-text", _backend(connect_timeout="soon"), "backends[2].connect_timeout"),
    ("connect-timeout-sub-ms", _backend(connect_timeout=0.0001), "backends[2].connect_timeout"),
    ("backend-name-space", _backend(name="v 3"), "backends[2].name"),
    ("backend-duplicate", _backend(name="v1"), "backends[2].name"),
    # routes: names and backends
    ("route-name-empty", _route(name=""), f"{R}.name"),
    ("route-name-slash", _route(name="a/b"), f"{R}.name"),
    ("route-name-traversal", _route(name="../../x"), f"{R}.name"),
    ("route-name-duplicate", _route(name="ok"), f"{R}.name: duplicate name 'ok'"),
    ("route-not-mapping", _doc(routes=[*BASE["routes"], "bad"]), f"{R}: expected a mapping"),
    ("route-unknown-key", _route(weights=1), f"{R}.weights: unknown field"),
    ("route-unknown-backend", _route(backends=[{"name": "v9", "weight": 100}]), f"{R}.backends[0].name"),
    ("route-no-backends", _route(backends=[]), f"{R}.backends: a route needs at least one backend"),
    (
        "weights-110",
        _route(backends=[{"name": "v1", "weight": 90}, {"name": "v2", "weight": 20}]),
        f"{R}.backends: weights sum to 110",
    ),
    (
        "weight-negative",
        _route(backends=[{"name": "v1", "weight": 110}, {"name": "v2", "weight": -10}]),
        f"{R}.backends[1].weight",
    ),
    (
        "weight-relative-huge",
        _route(weight_mode="relative", backends=[{"name": "v1", "weight": BIG}]),
        f"{R}.backends[0].weight",
    ),
    (
        "weight-relative-zero",
        _route(weight_mode="relative", backends=[{"name": "v1", "weight": 0}]),
        f"{R}.backends: at least one backend",
    ),
    ("weight-text", _route(backends=[{"name": "v1", "weight": "all"}]), f"{R}.backends[0].weight"),
    ("weight-float", _route(backends=[{"name": "v1", "weight": 99.5}]), f"{R}.backends[0].weight"),
    ("weight-mode", _route(weight_mode="ratio"), f"{R}.weight_mode"),
    (
        "backend-twice",
        _route(backends=[{"name": "v1", "weight": 50}, {"name": "v1", "weight": 50}]),
        f"{R}.backends[1].name",
    ),
    # hosts and matches
    ("host-crlf", _route(hosts=["a.test\r\nx: y"]), f"{R}.hosts[0]"),
    ("host-space", _route(hosts=["a test"]), f"{R}.hosts[0]"),
    ("host-empty", _route(hosts=[""]), f"{R}.hosts[0]"),
    ("host-twice", _route(hosts=["a.test", "A.test"]), f"{R}.hosts[1]"),
    ("host-probe", _route(hosts=["gatewayctl-probe.internal"]), f"{R}.hosts[0]"),
    ("host-nul", _route(hosts=["a\x00b"]), f"{R}.hosts[0]"),
    ("path-no-slash", _route(match={"prefix": "api"}), f"{R}.matches[0].path"),
    ("path-exact-no-slash", _route(match={"exact": "api"}), f"{R}.matches[0].path"),
    ("path-regex-lookahead", _route(match={"regex": "/(?=a).*"}), f"{R}.matches[0].path"),
    ("path-regex-backref", _route(match={"regex": r"/(\w+)/\1"}), f"{R}.matches[0].path"),
    ("path-regex-1001", _route(match={"regex": "/a{1001}"}), f"{R}.matches[0].path"),
    ("path-regex-empty", _route(match={"regex": ""}), f"{R}.matches[0].path"),
    ("path-regex-too-big", _route(match={"regex": "/(abc|def){20}"}), f"{R}.matches[0].path"),
    ("path-regex-unclosed", _route(match={"regex": "/(a"}), f"{R}.matches[0].path"),
    ("path-regex-lookbehind", _route(match={"regex": "/(?<=a)b"}), f"{R}.matches[0].path"),
    ("path-regex-possessive", _route(match={"regex": "/a++"}), f"{R}.matches[0].path"),
    ("path-two-kinds", _route(match={"prefix": "/", "exact": "/x"}), f"{R}.match"),
    ("match-and-matches", _route(match={"prefix": "/"}, matches=[{"prefix": "/"}]), f"{R}.matches"),
    (
        "header-name-space",
        _route(match={"prefix": "/", "headers": [{"name": "x y", "exact": "1"}]}),
        f"{R}.matches[0].headers[0].name",
    ),
    (
        "header-value-crlf",
        _route(match={"prefix": "/", "headers": [{"name": "x-a", "exact": "1\r\nx: y"}]}),
        f"{R}.matches[0].headers[0].exact",
    ),
    (
        "header-regex-lookahead",
        _route(match={"prefix": "/", "headers": [{"name": "x-a", "regex": "(?!a)"}]}),
        f"{R}.matches[0].headers[0]",
    ),
    (
        "header-regex-empty",
        _route(match={"prefix": "/", "headers": [{"name": "x-a", "regex": ""}]}),
        f"{R}.matches[0].headers[0]",
    ),
    (
        "header-two-kinds",
        _route(match={"prefix": "/", "headers": [{"name": "x-a", "exact": "1", "prefix": "2"}]}),
        f"{R}.match.headers[0]",
    ),
    ("method-unknown", _route(match={"prefix": "/", "methods": ["FETCH"]}), f"{R}.matches[0].methods"),
    # rate limits
    ("limit-zero", _limit(requests=0), f"{R}.rate_limit.requests"),
    ("limit-negative", _limit(requests=-1), f"{R}.rate_limit.requests"),
    ("limit-uint32", _limit(requests=BIG), f"{R}.rate_limit.requests"),
    ("limit-text", _limit(requests="many"), f"{R}.rate_limit.requests"),
    ("limit-missing", _route(rate_limit={"interval": "1s"}), f"{R}.rate_limit.requests: is required"),
    ("limit-interval-zero", _limit(interval="0s"), f"{R}.rate_limit.interval"),
    ("limit-interval-10ms", _limit(interval="10ms"), f"{R}.rate_limit.interval"),
    ("limit-interval-huge", _limit(interval="315576000001s"), f"{R}.rate_limit.interval"),
    ("limit-interval-inf", _limit(interval=float("inf")), f"{R}.rate_limit.interval"),
    ("limit-interval-nan", _limit(interval=float("nan")), f"{R}.rate_limit.interval"),
    ("limit-interval-text", _limit(interval="often"), f"{R}.rate_limit.interval"),
    ("limit-interval-negative", _limit(interval=-1), f"{R}.rate_limit.interval"),
    ("limit-burst-zero", _limit(burst=0), f"{R}.rate_limit.burst"),
    ("limit-burst-uint32", _limit(burst=BIG), f"{R}.rate_limit.burst"),
    ("limit-enabled-text", _limit(enabled="on"), f"{R}.rate_limit.enabled"),
    ("limit-unknown-key", _limit(tokens=1), f"{R}.rate_limit.tokens: unknown field"),
    ("limit-not-mapping", _route(rate_limit=[1]), f"{R}.rate_limit: expected a mapping"),
    # CORS
    ("cors-no-origins", _route(cors={"allow_origins": []}), f"{R}.cors.allow_origins"),
    (
        "cors-regex-any-credentials",
        _cors(allow_origins=[{"regex": ".*"}], allow_credentials=True),
        f"{R}.cors.allow_origins[0]",
    ),
    (
        "cors-regex-https-any-credentials",
        _cors(allow_origins=[{"regex": "https://.*"}], allow_credentials=True),
        f"{R}.cors.allow_origins[0]",
    ),
    (
        "cors-prefix-http-credentials",
        _cors(allow_origins=[{"prefix": "http"}], allow_credentials=True),
        f"{R}.cors.allow_origins[0]",
    ),
    (
        "cors-prefix-scheme-credentials",
        _cors(allow_origins=[{"prefix": "https://"}], allow_credentials=True),
        f"{R}.cors.allow_origins[0]",
    ),
    (
        "cors-prefix-host-credentials",
        _cors(allow_origins=[{"prefix": "https://app.example.com"}], allow_credentials=True),
        f"{R}.cors.allow_origins[0]",
    ),
    (
        "cors-regex-unanchored-credentials",
        _cors(allow_origins=[{"regex": "https://app\\.example\\.com(\\..+)?"}], allow_credentials=True),
        f"{R}.cors.allow_origins[0]",
    ),
    (
        "cors-wildcard-credentials",
        _cors(allow_origins=[{"exact": "*"}], allow_credentials=True),
        f"{R}.cors.allow_credentials",
    ),
    (
        "cors-null-credentials",
        _cors(allow_origins=[{"exact": "null"}], allow_credentials=True),
        f"{R}.cors.allow_origins[0]",
    ),
    ("cors-origin-ftp", _cors(allow_origins=["ftp://a.example"]), f"{R}.cors.allow_origins[0]"),
    ("cors-origin-path", _cors(allow_origins=["https://a.example/app"]), f"{R}.cors.allow_origins[0]"),
    ("cors-origin-port", _cors(allow_origins=["https://a.example:99999"]), f"{R}.cors.allow_origins[0]"),
    ("cors-origin-no-host", _cors(allow_origins=["https://"]), f"{R}.cors.allow_origins[0]"),
    ("cors-origin-regex-bad", _cors(allow_origins=[{"regex": "(?=x)"}]), f"{R}.cors.allow_origins[0]"),
    ("cors-origin-regex-empty", _cors(allow_origins=[{"regex": ""}]), f"{R}.cors.allow_origins[0]"),
    ("cors-origin-prefix-empty", _cors(allow_origins=[{"prefix": ""}]), f"{R}.cors.allow_origins[0]"),
    ("cors-origin-prefix-ftp", _cors(allow_origins=[{"prefix": "ftp"}]), f"{R}.cors.allow_origins[0]"),
    (
        "cors-origin-two-kinds",
        _cors(allow_origins=[{"exact": "a", "prefix": "b"}]),
        f"{R}.cors.allow_origins[0]",
    ),
    ("cors-method", _cors(allow_methods=["FETCH"]), f"{R}.cors.allow_methods"),
    ("cors-header-space", _cors(allow_headers=["x y"]), f"{R}.cors.allow_headers"),
    ("cors-expose-colon", _cors(expose_headers=["a:b"]), f"{R}.cors.expose_headers"),
    ("cors-max-age-negative", _cors(max_age=-5), f"{R}.cors.max_age"),
    ("cors-max-age-huge", _cors(max_age="400000000000s"), f"{R}.cors.max_age"),
    ("cors-max-age-text", _cors(max_age="a while"), f"{R}.cors.max_age"),
    ("cors-credentials-text", _cors(allow_credentials="yes"), f"{R}.cors.allow_credentials"),
    ("cors-unknown-key", _cors(allow_all=True), f"{R}.cors.allow_all: unknown field"),
    # JWT
    ("jwks-uri-http", _provider(jwks_uri="http://keys.example/jwks"), f"{R}.jwt.providers[0].jwks_uri"),
    ("jwks-uri-ftp", _provider(jwks_uri="ftp://keys.example/jwks"), f"{R}.jwt.providers[0].jwks_uri"),
    ("jwks-both", _provider(jwks='{"keys": []}'), f"{R}.jwt.providers[0]: needs exactly one"),
    ("jwks-none", _provider(jwks_uri=None), f"{R}.jwt.providers[0]: needs exactly one"),
    ("jwks-bad-json", _provider(jwks_uri=None, jwks="{not json"), f"{R}.jwt.providers[0].jwks"),
    ("jwks-no-keys", _provider(jwks_uri=None, jwks='{"k": 1}'), f"{R}.jwt.providers[0].jwks"),
    ("jwt-no-issuer", _provider(issuer=""), f"{R}.jwt.providers[0].issuer"),
    ("jwt-from-header-space", _provider(from_headers=["x y"]), f"{R}.jwt.providers[0].from_headers[0]"),
    ("jwt-no-providers", _route(jwt={"providers": []}), f"{R}.jwt.providers"),
    # timeouts, retries, circuit breaking, mirroring
    ("timeout-negative", _route(timeout=-1), f"{R}.timeout"),
    ("timeout-huge", _route(timeout="999999999999h"), f"{R}.timeout"),
    ("timeout-nan", _route(timeout=float("nan")), f"{R}.timeout"),
    ("timeout-sub-ms", _route(timeout="0.0001s"), f"{R}.timeout"),
    ("timeout-text", _route(timeout="later"), f"{R}.timeout"),
    ("retries-negative", _route(retries={"attempts": -1}), f"{R}.retries.attempts"),
    ("retries-uint32", _route(retries={"attempts": BIG}), f"{R}.retries.attempts"),
    (
        "retries-per-try-zero",
        _route(retries={"attempts": 1, "per_try_timeout": "0s"}),
        f"{R}.retries.per_try_timeout",
    ),
    (
        "retries-per-try-huge",
        _route(retries={"attempts": 1, "per_try_timeout": "315576000001s"}),
        f"{R}.retries.per_try_timeout",
    ),
    ("circuit-zero", _route(circuit_breaker={"max_connections": 0}), f"{R}.circuit_breaker.max_connections"),
    ("circuit-uint32", _route(circuit_breaker={"max_requests": BIG}), f"{R}.circuit_breaker.max_requests"),
    (
        "outlier-5xx-zero",
        _route(circuit_breaker={"outlier_detection": {"consecutive_5xx": 0}}),
        f"{R}.circuit_breaker.outlier_detection.consecutive_5xx",
    ),
    (
        "outlier-percent",
        _route(circuit_breaker={"outlier_detection": {"max_ejection_percent": 101}}),
        f"{R}.circuit_breaker.outlier_detection.max_ejection_percent",
    ),
    (
        "outlier-interval-huge",
        _route(circuit_breaker={"outlier_detection": {"interval": "999999999999h"}}),
        f"{R}.circuit_breaker.outlier_detection.interval",
    ),
    ("mirror-unknown", _route(mirror={"backend": "v9"}), f"{R}.mirror.backend"),
    ("mirror-percent-zero", _route(mirror={"backend": "v2", "percent": 0}), f"{R}.mirror.percent"),
    ("mirror-percent-high", _route(mirror={"backend": "v2", "percent": 101}), f"{R}.mirror.percent"),
    # header rewrites
    (
        "set-value-crlf",
        _route(headers={"request": {"set": {"x-a": "1\r\nx-evil: 1"}}}),
        f"{R}.headers.request.set",
    ),
    ("add-value-lf", _route(headers={"response": {"add": {"x-a": "1\nx"}}}), f"{R}.headers.response.add"),
    ("set-value-nul", _route(headers={"request": {"set": {"x-a": "a\x00b"}}}), f"{R}.headers.request.set"),
    ("set-name-space", _route(headers={"request": {"set": {"x a": "1"}}}), f"{R}.headers.request"),
    ("set-name-pseudo", _route(headers={"request": {"set": {":path": "/x"}}}), f"{R}.headers.request"),
    ("set-host", _route(headers={"request": {"set": {"host": "evil"}}}), f"{R}.headers.request.set.host"),
    ("remove-host", _route(headers={"request": {"remove": ["Host"]}}), f"{R}.headers.request.remove"),
    ("remove-name-bad", _route(headers={"request": {"remove": ["a b"]}}), f"{R}.headers.request"),
    ("headers-unknown-side", _route(headers={"upstream": {}}), f"{R}.headers.upstream: unknown field"),
]
