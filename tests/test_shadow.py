"""Shadow-mode rate limits through a real Envoy: a shadowed limit refuses nothing under real load;
the would-be refusals ``shadow`` reports equal Envoy's counters and name the clients; one
``set-rate-limit --enforce`` (the usual diff) turns it into a limit that refuses."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from connectors.change import Change
from connectors.http_client import http_client
from connectors.metrics.admin_source import parse_stats
from connectors.native import NativeConnector
from connectors.shadow import shadow_limits
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
        with http_client(base_url=gw.listener_url(), timeout=5) as c:
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


def test_right_after_traffic_the_clients_are_said_to_be_catching_up_never_a_confident_zero(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    """Envoy writes its access log about a second after the requests, its counters at once: read
    right after a burst, ``shadow`` says the client list is still catching up, then names them."""
    rc, out, _ = cli(gw, capsys, "set-rate-limit", ROUTE, "--requests", "2", "--interval", "1s", "--shadow")
    assert rc == 0, out
    assert load(gw, {"crawler-7": 20, "mallory": 10}) == Counter({200: 30})
    samples: list[tuple[dict[str, Any], str]] = []

    def sample() -> bool:  # what ``shadow -o json`` and ``shadow`` print, read straight away
        limit = next(r for r in shadow_limits(gw) if r.route == ROUTE)
        samples.append((limit.to_json(), f"  {ROUTE}: {limit.describe()}"))
        return limit.would_refuse > 0 and sum(n for _, n in limit.clients) == limit.would_refuse

    wait_until(sample, 15, every=0.0, what="every would-be refusal named")
    for row, line in samples:
        named = sum(c["would_refuse"] for c in row["clients"])
        if named < row["would_refuse"]:  # the log is behind: said so, in words and in JSON
            assert "so far, the access log is behind" in line, line
            assert row["clients_complete"] is False, row
        else:
            assert row["clients_complete"] is True and "behind" not in line, (row, line)
    row, line = samples[-1]  # (earlier tests here shadowed this route too: Envoy counts since then)
    assert row["would_refuse"] == envoy_counter(gw, "rate_limited") >= 20
    assert {"x-user-id=crawler-7", "x-user-id=mallory"} <= {c["client"] for c in row["clients"]}
    rc, out, _ = cli(gw, capsys, "shadow")
    assert f"{ROUTE}: {line.split(': ', 1)[1]}: " in out and "behind" not in out


def test_the_log_is_behind_while_it_names_fewer_would_be_refusals_than_envoy_counted() -> None:
    from connectors.native.shadow import behind, read_log

    started = 1_000.0

    def line(t: float, user: str) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
        return json.dumps(
            {"time": stamp, "shadow_limited": ROUTE, "x-user-id": user, "client": "127.0.0.1:1"}
        )

    older = json.dumps({"time": "1970-01-01T00:10:00.000Z", "route": ROUTE})  # before Envoy started
    elsewhere = json.loads(line(1_021, "framed"))  # another route's request cannot be this one's
    elsewhere["route"] = "host-v1"
    lines = [older, line(1_010, "a"), line(1_020, "b"), json.dumps(elsewhere)]
    reading = read_log(lines, ["x-user-id"], 1_015, started)
    assert dict(reading.clients[ROUTE]) == {"x-user-id=b": 1}  # the window
    assert reading.since_start[ROUTE] == 2
    assert behind(reading, ROUTE, 3, started, buffered=0), "Envoy counted 3, the log names 2"
    assert not behind(reading, ROUTE, 2, started, buffered=0)
    reading.whole = True  # the whole file (made when Envoy started): what it names is all there is
    assert behind(reading, ROUTE, 3, started, buffered=0)
    # The tail of a long log, not reaching back to Envoy's start: the unwritten bytes decide.
    recent = read_log([line(1_020, "b")], ["x-user-id"], 1_015, started)
    assert behind(recent, ROUTE, 30, started, buffered=120)
    assert not behind(recent, ROUTE, 30, started, buffered=0)


def test_a_client_cannot_name_itself_or_anyone_a_would_be_refusal(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    """The access log names would-be refusals by a request header the shadow limiter adds; a client
    sending that header itself (claiming to be someone else, on this route or another) must not
    show up among the would-be refused — or an operator's ``b`` would deny an innocent client."""
    rc, out, _ = cli(gw, capsys, "set-rate-limit", ROUTE, "--requests", "100", "--interval", "1m", "--shadow")
    assert rc == 0, out
    spoof = {"x-gatewayctl-shadow-limited": ROUTE, "x-user-id": "innocent-bob"}
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        for host in (HOST, "v1.test", HOST):
            assert c.get("/orders", headers={"host": host, **spoof}).status_code == 200
    wait_until(lambda: gw.access_log_path.read_text().count("innocent-bob") >= 3, what="the requests logged")
    lines = [json.loads(x) for x in gw.access_log_path.read_text().splitlines() if "innocent-bob" in x]
    assert [x.get("shadow_limited") for x in lines] == [None, None, None], lines
    limit = next(r for r in shadow_limits(gw) if r.route == ROUTE)
    assert "x-user-id=innocent-bob" not in dict(limit.clients), limit.clients
