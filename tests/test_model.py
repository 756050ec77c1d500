"""The model refuses bad input with every problem at once, each located by its field path."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connectors.errors import ValidationError
from connectors.model import (
    Cors,
    RateLimit,
    StringMatch,
    gateway_from_dict,
    gateway_problems,
    route_from_dict,
    route_to_dict,
)
from connectors.model.edits import apply_preset, shift_weight
from connectors.model.types import MatchKind

BASE: dict[str, Any] = {
    "name": "gw",
    "listeners": [{"name": "main", "port": 10000}],
    "backends": [{"name": "v1", "endpoints": ["127.0.0.1:1"]}, {"name": "v2", "endpoints": ["127.0.0.1:2"]}],
    "routes": [
        {
            "name": "shop",
            "hosts": ["shop.local"],
            "match": {"prefix": "/"},
            "backends": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}],
        }
    ],
}


def _gateway(**route_fields: object) -> dict[str, Any]:
    route: dict[str, Any] = {**BASE["routes"][0], **route_fields}
    return {**BASE, "routes": [route]}


def _messages(data: dict[str, Any]) -> list[str]:
    try:
        gw = gateway_from_dict(data)
    except ValidationError as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in gateway_problems(gw)]


def test_valid_gateway_has_no_problems() -> None:
    assert _messages(BASE) == []


def test_weights_must_sum_to_100_and_not_be_negative() -> None:
    assert _messages(_gateway(backends=[{"name": "v1", "weight": 90}, {"name": "v2", "weight": 20}])) == [
        "routes[0].backends: weights sum to 110, they must sum to 100"
    ]
    msgs = _messages(_gateway(backends=[{"name": "v1", "weight": 110}, {"name": "v2", "weight": -10}]))
    assert msgs == ["routes[0].backends[1].weight: weight must not be negative, got -10"]


def test_unknown_backend_and_duplicate_route_are_named() -> None:
    data = _gateway(backends=[{"name": "v1", "weight": 50}, {"name": "v9", "weight": 50}])
    data["routes"] = [*data["routes"], data["routes"][0]]
    msgs = _messages(data)
    assert "routes[0].backends[1].name: unknown backend 'v9' (known: v1, v2)" in msgs
    assert "routes[1].name: duplicate name 'shop'" in msgs


def test_every_problem_is_reported_at_once() -> None:
    data = _gateway(
        rate_limit={"requests": 0, "interval": "1m"},
        cors={"allow_origins": [{"regex": "https://(.*"}, "ftp:/nope"]},
    )
    msgs = _messages(data)
    assert any(m.startswith("routes[0].rate_limit.requests: must be a positive") for m in msgs)
    assert any(m.startswith("routes[0].cors.allow_origins[0]: regular expression") for m in msgs)
    assert any(m.startswith("routes[0].cors.allow_origins[1]: origin 'ftp:/nope'") for m in msgs)


def test_type_errors_carry_paths() -> None:
    msgs = _messages(_gateway(timeout="soon", rate_limit={"requests": "many"}))
    assert "routes[0].timeout: expected a duration like 250ms, 5s, 1m or 1h, got 'soon'" in msgs
    assert "routes[0].rate_limit.requests: expected a whole number, got 'many'" in msgs


def test_route_round_trips_through_dict() -> None:
    data = {
        "name": "api",
        "hosts": ["api.local"],
        "match": {"prefix": "/v1", "headers": [{"name": "x-a", "exact": "1"}]},
        "backends": [{"name": "v1", "weight": 100}],
        "rate_limit": {"requests": 5, "interval": "1m", "burst": 10},
        "cors": {"allow_origins": [{"exact": "https://a.example"}, {"prefix": "https://"}], "max_age": "10m"},
        "timeout": "5s",
        "retries": {"attempts": 2, "per_try_timeout": "1s", "retry_on": ["5xx"]},
    }
    route = route_from_dict(data)
    assert route.rate_limit == RateLimit(5, 60.0, 10)
    assert route.cors is not None and route.cors.allow_origins[1] == StringMatch("prefix", "https://")
    assert route_from_dict(route_to_dict(route)) == route


def test_shift_weight_keeps_sum_and_bounds() -> None:
    route = gateway_from_dict(BASE).routes[0]
    shifted = shift_weight(route, "v2", 5)
    assert [b.weight for b in shifted.backends] == [85, 15]
    capped = shift_weight(route, "v2", 500)
    assert [b.weight for b in capped.backends] == [0, 100]
    assert [b.weight for b in apply_preset(route, "50/50").backends] == [50, 50]


def test_cors_wildcard_with_credentials_refused() -> None:
    from connectors.model import cors_problems

    problems = cors_problems(Cors(allow_origins=(StringMatch("exact", "*"),), allow_credentials=True), "cors")
    assert [p.path for p in problems] == ["cors.allow_credentials"]


@pytest.mark.parametrize(
    ("kind", "origin"),
    [
        ("prefix", "https://app.example.com"),  # https://app.example.com.evil.net
        ("prefix", "https://a"),
        ("regex", r"https://app.example\.com"),  # app-example.com
        ("regex", r"https://[a-z]+\.example\.com.*"),
        ("regex", r"https://app\.example\.com.*"),
        ("regex", r"https://app\.example\.com(\..+)?"),
        ("regex", "https://a.+"),
    ],
)
def test_credentials_refuse_an_origin_an_attacker_can_extend(kind: MatchKind, origin: str) -> None:
    """Shared by the native and the Kubernetes connectors: the model's own rule."""
    from connectors.model import cors_problems

    cors = Cors(allow_origins=(StringMatch("exact", "https://ok.example"), StringMatch(kind, origin)))
    assert cors_problems(cors, "cors") == []  # without credentials it is only a CORS read
    problems = cors_problems(replace(cors, allow_credentials=True), "routes[0].cors")
    assert [p.path for p in problems] == ["routes[0].cors.allow_origins[1]"]
    assert "exact origins" in problems[0].message


@pytest.mark.parametrize(
    ("kind", "origin"),
    [
        ("prefix", "http://localhost:"),
        ("prefix", "http://127.0.0.1:"),
        ("prefix", "https://app.example.com:"),  # browsers send only numeric ports
        ("regex", r"^http://localhost(:[0-9]+)?$"),
        ("regex", r"https://app\.example\.com"),
        ("regex", r"https://(app|admin)\.example\.com(:[0-9]+)?"),
        ("regex", r"https://[a-z]+\.example\.com"),
        ("wildcard", "https://*.example.com"),
    ],
)
def test_credentials_accept_an_origin_that_ends_at_a_host(kind: MatchKind, origin: str) -> None:
    from connectors.model import cors_problems

    cors = Cors(allow_origins=(StringMatch(kind, origin),), allow_credentials=True)
    assert cors_problems(cors, "cors") == []


@pytest.mark.parametrize("origin", ["https://app.example.com", "http://localhost:3000", "*"])
def test_good_origins_accepted(origin: str) -> None:
    from connectors.model import cors_problems

    assert cors_problems(Cors(allow_origins=(StringMatch("exact", origin),)), "cors") == []
