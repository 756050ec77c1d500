"""The on-call commands headless, against a real native gateway with real requests: ``split`` says
whether traffic follows the declared weights since the last change, ``triage`` names the route and
the client being refused; both print tables or JSON and exit as documented."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.canary import CanaryPlan
from connectors.canary_state import CanaryState, CanaryStateStore
from connectors.change import Change
from connectors.http_client import http_client
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.split import judge
from tests.native_support import DemoBackends
from tests.prometheus_support import Traffic
from tests.waiting import wait_until
from tui.cli import main


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    before = {r.name: r for r in shared_native_gateway.list_routes()}
    yield shared_native_gateway
    assert {r.name: r for r in shared_native_gateway.list_routes()} == before, "test left a change"


def cli(gw: NativeConnector, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def send(gw: NativeConnector, host: str, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
    """``n`` real requests; what answered each (a backend's name, or Envoy's status code)."""
    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        got: Counter[str] = Counter()
        for _ in range(n):
            r = client.get("/", headers={"host": host, **(headers or {})})
            got[r.headers.get("x-backend") or str(r.status_code)] += 1
        return got


def test_split_after_fifty_fifty_and_a_thousand_requests_is_consistent(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(gw, "set-weights", "canary", "v1=50", "v2=50", capsys=capsys)[0] == 0
    try:
        change = gw.history()[-1]
        rc, out, _ = cli(gw, "split", "canary", capsys=capsys)
        assert rc == 0  # a verdict, even "too few", is an answer
        # Only the apply's own verification request (a real one, through the route) so far.
        assert re.search(
            r"Verdict:   too-few: too few requests yet \([01] of the 50 a verdict needs\)", out
        ), out
        rc, out, _ = cli(gw, "split", "canary", "-o", "json", capsys=capsys)
        verifying = {b["backend"]: b["requests"] for b in json.loads(out)["backends"]}
        assert sum(verifying.values()) <= 1, verifying  # the apply's own verification request, if any
        sent = send(gw, "canary.test", 1000)

        def counted() -> dict[str, Any] | None:
            # A headless split reads the access log, which Envoy writes out about once a second.
            rc, out, err = cli(gw, "split", "canary", "-o", "json", capsys=capsys)
            assert rc == 0, err
            found: dict[str, Any] = json.loads(out)
            return found if sum(b["requests"] for b in found["backends"]) >= 1000 else None

        data = wait_until(counted, what="the 1,000 requests counted")
        # Envoy picks each request's backend at random: one time in twenty a fair 50/50 falls outside
        # its 95 % interval. The verdict must be the one the client's own responses imply.
        expected = (
            "consistent" if judge({"v1": 50, "v2": 50}, sent).verdict == "consistent" else "inconsistent"
        )
        assert data["route"] == "canary" and data["verdict"] == expected, (data, sent)
        assert data["change"] == {"id": change.id, "time": change.time, "description": change.description}
        backends = {b["backend"]: b for b in data["backends"]}
        # Exactly what the client got, plus at most the apply's own verification request (Envoy writes
        # the access log about once a second: it may have come in only after ``verifying`` was read).
        extra = {b: backends[b]["requests"] - sent[b] for b in ("v1", "v2")}
        assert min(extra.values()) >= 0 and sum(extra.values()) <= 1, (extra, verifying, sent)
        v2 = backends["v2"]
        # The interval holds the declared 50 % exactly when the verdict (what the client saw) is consistent.
        assert v2["declared_pct"] == 50
        assert (v2["interval"][0] < 50 < v2["interval"][1]) == (expected == "consistent"), (v2, sent)
        assert v2["observed_pct"] == pytest.approx(100 * sent["v2"] / 1000, abs=0.2)
        rc, out, _ = cli(gw, "split", "canary", capsys=capsys)
        assert rc == 0 and f"Verdict:   {expected}: " in out and "BACKEND   DECLARED   REQUESTS" in out
        # The verdict names a share of the requests counted: the 1,000 sent, plus at most the apply's own
        # verification request (it may fall before or after the first counter reading counted from).
        assert re.search(r" \d+(\.\d)? % of 1,00[01] requests", out), out
    finally:
        assert cli(gw, "set-weights", "canary", "v1=90", "v2=10", capsys=capsys)[0] == 0


def test_split_of_an_unknown_route_is_one_error_line(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(gw, "split", "nope", capsys=capsys)
    assert rc == 1 and out == "" and err.startswith("error: ") and "nope" in err and err.count("\n") == 1


def test_triage_names_the_limited_route_and_the_client_refused_most(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    heavy = send(gw, "limited.test", 12, {"x-user-id": "crawler-7"})
    send(gw, "limited.test", 2, {"x-user-id": "alice"})
    assert heavy["429"] > 0

    def board() -> dict[str, object] | None:
        rc, out, err = cli(gw, "triage", "--by", "x-user-id", "-o", "json", capsys=capsys)
        assert rc == 0, err
        data: dict[str, object] = json.loads(out)
        routes = data["routes"]
        assert isinstance(routes, list)
        return data if routes and routes[0]["limited"] >= heavy["429"] else None

    from tests.waiting import wait_until

    data = wait_until(board, every=0.5, what="the 429s in the access log")
    assert data["window"] == "5m" and data["by"] == "x-user-id"
    top = data["routes"][0]  # type: ignore[index]
    assert top["route"] == "limited" and top["limiting"] and top["limit"]["requests"] == 5
    assert top["clients"][0] == {"client": "crawler-7", "limited": heavy["429"]}
    rc, out, _ = cli(gw, "triage", "--window", "1m", capsys=capsys)
    assert rc == 0 and "ROUTE" in out and "429s (1m)" in out and out.splitlines()[3].startswith("limited ")
    assert "Top limited clients of limited by source (1m): 127.0.0.1" in out


def test_triage_shows_a_shadowed_limit_and_whom_it_would_refuse(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13's cold tester: headless triage showed a shadowed limit as '0% refused' and its JSON
    had no shadow flag. Now: the would-be refusals and clients, as the console shows them."""
    route = gw.get_route("limited")
    rc, _, err = cli(
        gw,
        "set-rate-limit",
        "limited",
        "--requests",
        "2",
        "--interval",
        "1s",
        "--burst",
        "2",
        "--shadow",
        capsys=capsys,
    )
    assert rc == 0, err
    try:
        sent = send(gw, "limited.test", 20, {"x-user-id": "crawler-7"}) + send(
            gw, "limited.test", 10, {"x-user-id": "mallory"}
        )
        assert "429" not in sent, "a shadowed limit refuses nothing"

        def board() -> dict[str, Any] | None:
            rc, out, err = cli(gw, "triage", "-o", "json", capsys=capsys)
            assert rc == 0, err
            row: dict[str, Any] = next(r for r in json.loads(out)["routes"] if r["route"] == "limited")
            would = row["would_refuse"]
            named = sum(c["would_refuse"] for c in would["clients"]) if would else -1
            return row if would and would["requests"] and named == would["requests"] else None

        row = wait_until(board, every=0.5, what="the would-be refusals named in the access log")
        counted = gw.admin.stats(r"^gw_shadow_limited\.http_local_rate_limit\.(enabled|rate_limited)$")
        would = row["would_refuse"]
        assert row["limit"]["shadow"] is True and row["limit"]["enabled"] is True  # existing fields stay
        assert {"limited", "limited_pct", "clients", "limiting", "since"} <= set(row)
        assert would["requests"] == counted["gw_shadow_limited.http_local_rate_limit.rate_limited"]
        assert would["of"] == counted["gw_shadow_limited.http_local_rate_limit.enabled"]
        assert would["percent"] == pytest.approx(100 * would["requests"] / would["of"], abs=0.01)
        assert {c["client"] for c in would["clients"]} >= {"x-user-id=crawler-7", "x-user-id=mallory"}
        assert would["clients_complete"] is True

        rc, out, _ = cli(gw, "triage", capsys=capsys)
        pct = round(would["percent"])
        line = next(x for x in out.splitlines() if x.startswith("Shadowed: limited"))
        assert line.startswith(
            f"Shadowed: limited would refuse {pct}% of requests ({would['requests']} of {would['of']}), "
        ), line
        assert "x-user-id=crawler-7" in line and "set-rate-limit limited --enforce" in out
        table_row = next(x for x in out.splitlines() if x.startswith("limited "))
        assert "2/s (shadow)" in table_row
    finally:
        Change(gw).apply(gw.plan([route]))


def test_triage_without_429s_says_so(
    native_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = cli(native_gateway, "triage", capsys=capsys)
    assert rc == 0 and out.splitlines()[0] == "no 429s in the last 5m"
    assert out.splitlines()[3].split() == ["limited", "0", "0", "0%", "0.0", "5/1m", "-"]


def test_a_bad_window_is_a_usage_error(gw: NativeConnector, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = cli(gw, "triage", "--window", "soon", capsys=capsys)
    assert rc == 2 and "--window: 'soon' is not a duration" in err


def test_canary_prints_each_step_and_exits_0_when_promoted(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        with Traffic(gw.listener_url(), "canary.test", 20):
            rc, out, err = cli(
                gw,
                *("canary", "canary", "--steps", "50,100", "--pause", "1s", "--min-requests", "5"),
                *("--max-wait", "5s", "--max-p99", "none"),
                capsys=capsys,
            )
        assert rc == 0, (out, err)
        lines = out.splitlines()
        assert lines[0] == (
            "Canary v2 on canary (stable v1): steps 50, 100%, pause 1 s, at least 5 canary requests a step "
            "(waiting 5 s at most), errors <= 1%"
        )
        assert "canary canary: step 1/2, 50%" in out and "step 1 passed: " in out
        assert lines[-1] == "promoted: v2 takes all traffic on canary"
        assert gw.get_route("canary").weight_share() == {"v1": 0.0, "v2": 100.0}
    finally:
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 90, "v2": 10})]))


def test_canary_aborts_a_failing_backend_and_exits_1_with_the_reason(
    gw: NativeConnector, backends: DemoBackends, capsys: pytest.CaptureFixture[str]
) -> None:
    backends.v2.fail_rate = 0.5
    try:
        with Traffic(gw.listener_url(), "canary.test", 30):
            rc, out, err = cli(
                gw,
                "canary",
                "canary",
                "--steps",
                "20,100",
                "--pause",
                "1s",
                "--min-requests",
                "10",
                capsys=capsys,
            )
        assert rc == 1, out
        assert "breach: v2 errors " in out and "% threshold" in out
        assert err.startswith("error: canary aborted: aborted: all traffic on v1 (v2 errors ")
        assert send(gw, "canary.test", 30) == Counter({"v1": 30})
    finally:
        backends.reset()
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 90, "v2": 10})]))


def test_a_canary_left_by_a_dead_process_must_be_resumed_or_aborted(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = subprocess.Popen(["true"])  # a pid that no longer runs
    proc.wait()
    store = CanaryStateStore(gw.info().title)
    plan = CanaryPlan(steps=(10, 50, 100), pause_s=1)
    store.save(
        CanaryState(
            "r9", gw.info().title, "canary", "v1", "v2", plan.to_json(), 0, 10, "running", pid=proc.pid
        )
    )
    rc, _, err = cli(gw, "canary", "canary", capsys=capsys)
    assert rc == 1 and err.startswith("error: canary v2 on canary was left running at step 1/3, 10%")
    assert "--resume carries it on from there; --abort sends all traffic back to stable" in err
    try:
        rc, out, err = cli(gw, "canary", "canary", "--abort", capsys=capsys)
        assert rc == 0, err
        assert "abort, all traffic to v1" in out and store.left_over() == []
        assert gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0}
        rc, _, err = cli(gw, "canary", "canary", "--resume", capsys=capsys)
        assert rc == 2 and "no canary run of canary was left over" in err
    finally:
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 90, "v2": 10})]))


def _history_and_audit(gw: NativeConnector) -> tuple[int, int]:
    from pathlib import Path

    audit = gw.state_dir.parents[1] / "audit.jsonl"
    return len(gw.history()), len(audit.read_text().splitlines()) if Path(audit).exists() else 0


def test_a_canary_never_moves_traffic_down_to_a_step_below_its_weight(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    """v1 has 90 %: a plan of 5, 10, 50 % for v1 has no step to go up to. One line refuses it, the
    weights stay, nothing is written; a plan with a step above starts there, with no internal name."""
    before = _history_and_audit(gw)
    rc, out, err = cli(gw, "canary", "canary", "--canary", "v1", "--steps", "5,10,50", capsys=capsys)
    assert rc == 1, (out, err)
    (line,) = err.splitlines()
    assert line.startswith("error: ") and "v1 already has 90% of canary" in line and "50%" in line
    assert gw.get_route("canary").weight_share() == {"v1": 90.0, "v2": 10.0}
    assert _history_and_audit(gw) == before
    assert CanaryStateStore(gw.info().title).left_over() == []
    try:
        with Traffic(gw.listener_url(), "canary.test", 20):
            rc, out, err = cli(
                gw,
                *("canary", "canary", "--canary", "v1", "--steps", "5,10,95,100", "--pause", "1s"),
                *("--min-requests", "0", "--max-p99", "none"),
                capsys=capsys,
            )
        assert rc == 0, (out, err)
        assert "restart=True" not in out + err
        assert "warning: v1 already has 90% of canary: starting at 95% (skipping 5%, 10%" in out
        assert "step 3/4, 95%" in out and "step 1/4" not in out
    finally:
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 90, "v2": 10})]))


def test_a_plan_that_ends_below_100_ends_with_a_line_and_leaves_no_run_behind(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        rc, out, err = cli(
            gw,
            *("canary", "canary", "--steps", "20,30", "--pause", "0.5s", "--min-requests", "0"),
            *("--max-p99", "none"),
            capsys=capsys,
        )
        assert rc == 0, (out, err)
        assert out.splitlines()[-1] == "done: v2 keeps 30% of canary (the plan's last step; not promoted)"
        assert CanaryStateStore(gw.info().title).left_over() == []
        assert gw.get_route("canary").weight_share() == {"v1": 70.0, "v2": 30.0}
    finally:
        Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 90, "v2": 10})]))


@pytest.mark.parametrize("extra", [[], ["--abort"]], ids=["run", "abort"])
def test_readonly_refuses_a_canary_up_front_and_writes_nothing(
    gw: NativeConnector, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = CanaryStateStore(gw.info().title)
    if extra:  # a run left by a dead process, which --abort would end
        proc = subprocess.Popen(["true"])
        proc.wait()
        plan = CanaryPlan(steps=(10, 50, 100), pause_s=1)
        store.save(
            CanaryState(
                "r8", gw.info().title, "canary", "v1", "v2", plan.to_json(), 0, 10, "running", pid=proc.pid
            )
        )
    before = _history_and_audit(gw)
    try:
        rc, out, err = cli(gw, "canary", "canary", "--steps", "20,100", *extra, "--readonly", capsys=capsys)
        assert rc == 1, (out, err)
        (line,) = err.splitlines()
        assert line.startswith("error: Not allowed: read-only mode")
        assert out == ""
        assert _history_and_audit(gw) == before
        assert [s.run for s in store.left_over()] == (["r8"] if extra else [])
        assert gw.get_route("canary").weight_share() == {"v1": 90.0, "v2": 10.0}
    finally:
        store.clear("canary")
