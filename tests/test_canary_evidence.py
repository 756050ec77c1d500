"""A canary never claims what it did not check, and never overwrites someone else's change, on a real
Envoy with real traffic: a step gone past unjudged at low traffic still aborts on the errors it saw;
the ``canary`` command stops (exit 1) before 100 % when no step was judged, unless told; a weight
change made outside a running canary holds it, said in the history, and is kept."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from connectors.canary import CanaryEvent, CanaryPlan, CanaryRun
from connectors.metrics import MetricsSource, metrics_for
from connectors.native import NativeConnector
from tests.native_support import DemoBackends, client
from tests.prometheus_support import Traffic
from tests.waiting import wait_until
from tui.cli import main


@pytest.fixture(scope="module")
def source(shared_native_gateway: NativeConnector) -> Iterator[MetricsSource]:
    src = metrics_for(shared_native_gateway)
    assert src is not None
    wait_until(lambda: src.snapshot().ok, timeout=20, what="metrics")
    yield src
    src.close()


def split_of(gw: NativeConnector) -> dict[str, float]:
    return gw.get_route("canary").weight_share()


def answered_by(gw: NativeConnector, n: int = 40) -> Counter[str]:
    with client(gw) as c:
        return Counter(c.get("/", headers={"host": "canary.test"}).headers["x-backend"] for _ in range(n))


def test_a_step_gone_past_unjudged_still_aborts_on_the_errors_it_saw(
    gw: NativeConnector, backends: DemoBackends, source: MetricsSource
) -> None:
    """Too few requests to judge the step (a minimum of 1,000), but half of those seen failed: the
    run does not go on unjudged, it aborts, and real requests all reach stable again."""
    backends.v2.fail_rate = 0.5
    events: list[CanaryEvent] = []
    # A wait long enough that a busy machine still sends the step some canary requests to judge.
    plan = CanaryPlan(steps=(20, 50, 100), pause_s=1, max_p99_ms=None, min_requests=1000, max_wait_s=6)
    run = CanaryRun(gw, source, "canary", "v1", "v2", plan, on_event=events.append, check_every=0.25)
    with Traffic(gw.listener_url(), "canary.test", 10):
        assert run.run() == "aborted", [e.message for e in events if e.kind != "watch"]
    kinds = [e.kind for e in events]
    assert "low-traffic" not in kinds and "breach" in kinds
    assert max(e.weight for e in events) == 20
    assert split_of(gw) == {"v1": 100.0, "v2": 0.0} and answered_by(gw) == Counter({"v1": 40})


def cli(gw: NativeConnector, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


LOW = ("--steps", "10,50,100", "--pause", "1s", "--min-requests", "500", "--max-wait", "2s")


def test_canary_exits_1_when_no_step_had_enough_traffic_to_judge(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    with Traffic(gw.listener_url(), "canary.test", 4):
        rc, out, err = cli(gw, "canary", "canary", *LOW, "--max-p99", "none", capsys=capsys)
        assert rc == 1, (out, err)
        assert "low traffic: continued unjudged: " in out and " of 500 requests at step 1 (10%)" in out
        assert err.startswith(
            "error: canary held at 50%: not enough traffic to judge any step (step 1 at 10%: "
        )
        assert "--resume --promote-unjudged promotes anyway" in err
        assert split_of(gw) == {"v1": 50.0, "v2": 50.0}, "never promoted without evidence"
        # Left held: the next run says so; told to, it promotes without evidence, saying so.
        rc, out, err = cli(gw, "canary", "canary", "--resume", "--promote-unjudged", capsys=capsys)
    assert rc == 0, (out, err)
    assert "promoting without evidence, as asked: not enough traffic to judge any step" in out
    assert out.splitlines()[-1] == "promoted: v2 takes all traffic on canary"
    assert split_of(gw) == {"v1": 0.0, "v2": 100.0}
    recorded = [e.event for e in gw.history() if e.kind == "canary"]
    assert recorded[-4:] == ["start", "low-traffic", "unjudged", "promote"], recorded


def test_canary_promote_unjudged_goes_to_100_saying_it_was_not_judged(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    with Traffic(gw.listener_url(), "canary.test", 4):
        rc, out, err = cli(gw, "canary", "canary", *LOW, "--promote-unjudged", capsys=capsys)
    assert rc == 0, (out, err)
    assert out.count("low traffic: continued unjudged: ") == 2
    assert "warning: promoting without evidence, as asked: not enough traffic to judge any step" in out
    assert split_of(gw) == {"v1": 0.0, "v2": 100.0}


def test_an_outside_weight_change_holds_a_running_canary_and_is_not_overwritten(
    gw: NativeConnector, source: MetricsSource, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[CanaryEvent] = []
    plan = CanaryPlan(steps=(20, 50, 100), pause_s=600, max_p99_ms=None)
    run = CanaryRun(gw, source, "canary", "v1", "v2", plan, on_event=events.append, check_every=0.2)
    worker = threading.Thread(target=run.run)
    worker.start()
    try:
        wait_until(lambda: run.weight == 20 and any(e.kind == "watch" for e in events), what="step 1")
        # A colleague's set-weights (its own connector, as from another terminal).
        assert cli(gw, "set-weights", "canary", "v1=70", "v2=30", capsys=capsys)[0] == 0
        wait_until(lambda: any(e.kind == "held" for e in events), what="the hold")
        held = [e for e in events if e.kind == "held"][-1]
        assert held.message.startswith("held at 30%: the weights of canary were changed outside this canary")
        assert (
            "now 70/30 (v1/v2), it had set 80/20 (v1/v2); the canary does not overwrite them" in held.message
        )
        hold = [e for e in gw.history() if e.run == run.run_id and e.event == "hold"]
        assert hold and "changed outside this canary" in hold[-1].description
        assert split_of(gw) == {"v1": 70.0, "v2": 30.0}
        run.resume()  # told, the operator goes on from the weights now
        wait_until(lambda: run.state == "running", what="resumed")
        assert run.weight == 30 and split_of(gw) == {"v1": 70.0, "v2": 30.0}
    finally:
        run.abort()
        worker.join(15)
    assert run.state == "aborted" and split_of(gw) == {"v1": 100.0, "v2": 0.0}
