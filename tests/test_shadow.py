"""Shadow-mode rate limits through a real Envoy: a shadowed limit refuses nothing under real load;
the would-be refusals ``shadow`` reports equal Envoy's counters and name the clients; one
``set-rate-limit --enforce`` (the usual diff) turns it into a limit that refuses."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from connectors.change import Change
from connectors.metrics.admin_source import parse_stats
from connectors.native import NativeConnector
from tests.waiting import wait_until
from tui.cli import main

ROUTE, HOST = "limited", "limited.test"  # 5 per minute, burst 5 (tests/native_support.py)


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    before = shared_native_gateway.gateway()
    yield shared_native_gateway
    if shared_native_gateway.gateway() != before:
        Change(shared_native_gateway).apply(shared_native_gateway.plan_gateway(before))


def cli(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def load(gw: NativeConnector, users: dict[str, int]) -> Counter[int]:
    """Real concurrent requests: ``users[name]`` requests with ``x-user-id: name``."""
    jobs = [u for u, n in users.items() for _ in range(n)]

    def one(user: str) -> int:
        with httpx.Client(base_url=gw.listener_url(), trust_env=False, timeout=5) as c:
            return c.get("/orders", headers={"host": HOST, "x-user-id": user}).status_code

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(one, jobs))


def envoy_counter(gw: NativeConnector, name: str) -> int:
    stats = gw.admin.stats(rf"^gw_shadow_{ROUTE}\.http_local_rate_limit\.{name}$")
    return int(next(iter(stats.values()), 0) or 0)


def test_a_shadowed_limit_refuses_nothing_and_counts_what_envoy_counts(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(gw, capsys, "set-rate-limit", ROUTE, "--shadow", "--show-native")
    assert rc == 0, out
    assert "shadow: true" in out and "Verification: verified" in out
    statuses = load(gw, {"crawler-7": 30, "alice": 6})
    assert statuses == Counter({200: 36})  # nothing refused

    def report() -> dict[str, Any]:
        rc, out, _ = cli(gw, capsys, "shadow", "-o", "json")
        assert rc == 0
        rows: list[dict[str, Any]] = json.loads(out)
        return next(r for r in rows if r["route"] == ROUTE)

    # the access log (flushed each second) names every would-be refusal
    wait_until(
        lambda: sum(c["would_refuse"] for c in report()["clients"]) == report()["would_refuse"],
        15,
        what="the log",
    )
    row = report()
    assert row["requests"] == envoy_counter(gw, "enabled") == 36
    assert row["would_refuse"] == envoy_counter(gw, "rate_limited") >= 30  # burst 5, 5 more a minute
    assert row["enforced"] == envoy_counter(gw, "enforced") == 0
    assert row["would_refuse_pct"] == pytest.approx(100 * row["would_refuse"] / 36, abs=0.01)
    clients = {c["client"]: c["would_refuse"] for c in row["clients"]}
    assert set(clients) <= {"x-user-id=crawler-7", "x-user-id=alice"} and "x-user-id=crawler-7" in clients

    rc, out, _ = cli(gw, capsys, "shadow")
    assert f"would refuse {row['would_refuse_pct']:.0f}% of requests ({row['would_refuse']} of 36)" in out

    # one change, through the usual diff, enforces it: now it refuses
    rc, out, _ = cli(gw, capsys, "set-rate-limit", ROUTE, "--enforce")
    assert rc == 0 and "Verification: verified" in out
    assert any(line.startswith("-") and "shadow: true" in line for line in out.splitlines())
    assert gw.gateway().route(ROUTE).rate_limit.shadow is False  # type: ignore[union-attr]
    assert load(gw, {"crawler-7": 12})[429] >= 6


def test_the_metrics_do_not_count_shadow_refusals_as_refused() -> None:
    data = {
        "stats": [
            {"name": "gw_rate_limit.http_local_rate_limit.rate_limited", "value": 4},
            {"name": "gw_shadow_api.http_local_rate_limit.rate_limited", "value": 90},
        ]
    }
    assert parse_stats(data, lambda name: None).counters[("down_lim",)] == 4


@pytest.mark.parametrize(
    "args",
    [
        ["--shadow", "--remove"],
        ["--shadow", "--enforce"],
        [],
    ],
)
def test_bad_shadow_arguments_are_one_line(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    before = gw.config_path.read_bytes()
    rc, _out, err = cli(gw, capsys, "set-rate-limit", ROUTE, *args)
    assert rc == 2 and err.startswith("error: usage: ") and err.count("\n") == 1
    assert gw.config_path.read_bytes() == before


def test_enforce_without_a_limit_names_the_field(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(gw, capsys, "set-rate-limit", "canary", "--enforce")
    assert rc == 1 and "canary.rate_limit: the route has no rate limit" in err
