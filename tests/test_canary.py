"""The interactive canary: bad plans are refused with every reason and change nothing; a failing
canary aborts by itself and real requests then all reach stable; a healthy one is promoted. Each
live scenario runs with the admin-stats source and with a real Prometheus."""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from connectors.canary import CanaryEvent, CanaryPlan, CanaryRun
from connectors.canary_state import CanaryState, CanaryStateStore
from connectors.change import Change
from connectors.demo.prometheus import PrometheusProcess, find_prometheus
from connectors.errors import ValidationError
from connectors.metrics import MetricsSource, PrometheusConfig, metrics_for
from connectors.model.edits import set_weights
from connectors.native import NativeConnector
from connectors.paths import state_dir
from tests.native_support import DemoBackends, client
from tests.prometheus_support import Traffic, admin_target
from tests.waiting import wait_until


@pytest.mark.parametrize(
    ("plan", "messages"),
    [
        (CanaryPlan(steps=(5, 50, 120)), ["steps[2]: 120% is above 100%"]),
        (CanaryPlan(steps=(-5, 50)), ["steps[0]: -5% is below 0%"]),
        (CanaryPlan(steps=(10, 5, 100)), ["steps[1]: steps must increase: 5% comes after 10%"]),
        (CanaryPlan(steps=()), ["steps: give at least one step"]),
        (
            CanaryPlan(max_error_pct=150, max_p99_ms=-1, pause_s=0),
            [
                "pause_s: the pause must be a positive",
                "max_error_pct: an error threshold of 150%",
                "max_p99_ms",
            ],
        ),
        (CanaryPlan(on_breach="retry"), ["on_breach: 'retry' is not 'abort' or 'hold'"]),  # type: ignore[arg-type]
    ],
)
def test_a_nonsensical_plan_is_refused_with_every_reason(plan: CanaryPlan, messages: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        plan.validated()
    text = str(caught.value)
    for message in messages:
        assert message in text


def test_a_plan_typed_by_the_operator_is_parsed_or_refused_with_reasons() -> None:
    plan = CanaryPlan.parse("1, 5 25,50,100", "30s", "1.5%", "400")
    assert plan.steps == (1, 5, 25, 50, 100) and plan.pause_s == 30 and plan.max_error_pct == 1.5
    assert CanaryPlan.parse("10 100", "2", "1", "").max_p99_ms is None
    with pytest.raises(ValidationError) as caught:
        CanaryPlan.parse("5, ten, 200", "soon", "x", "400")
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems["steps[1]"] == "'ten' is not a whole percentage"
    assert "above 100%" in problems["steps[2]"] and "pause_s" in problems and "max_error_pct" in problems


@pytest.fixture(scope="module", params=["admin", "prometheus"])
def source(request: pytest.FixtureRequest, shared_native_gateway: NativeConnector) -> Iterator[MetricsSource]:
    gw = shared_native_gateway
    if request.param == "admin":
        src = metrics_for(gw)
        if find_prometheus() is not None:
            # Prometheus takes ~7 s to pick up a new target: start it now, it has data by the time the
            # prometheus half of the module runs.
            prometheus_: PrometheusProcess = request.getfixturevalue("prometheus")
            prometheus_.set_targets([admin_target(gw.stats_url)])
    else:
        prometheus: PrometheusProcess = request.getfixturevalue("prometheus")
        target = admin_target(gw.stats_url)
        prometheus.set_targets([target])
        src = metrics_for(
            gw, prometheus=PrometheusConfig(prometheus.url, rate_window="3s", selector=f'instance="{target}"')
        )
    assert src is not None
    wait_until(lambda: src.snapshot().ok, timeout=20, what="metrics")
    yield src
    src.close()


@pytest.fixture
def canary_route(shared_native_gateway: NativeConnector, backends: DemoBackends) -> Iterator[str]:
    """The shared gateway's ``canary`` route (v1 90 / v2 10), restored afterwards."""
    before = shared_native_gateway.get_route("canary")
    yield "canary"
    backends.reset()
    Change(shared_native_gateway).apply(shared_native_gateway.plan([before]))


def _split(gw: NativeConnector, n: int) -> Counter[str]:
    with client(gw) as c:
        return Counter(c.get("/", headers={"host": "canary.test"}).headers["x-backend"] for _ in range(n))


def test_bad_input_changes_nothing(
    shared_native_gateway: NativeConnector, source: MetricsSource, canary_route: str
) -> None:
    gw = shared_native_gateway
    history = len(gw.history())
    for kwargs, fragment in (
        ({"stable": "v1", "canary": "v9"}, "has no backend 'v9'"),
        ({"stable": "v1", "canary": "v1"}, "must differ"),
        ({"plan": CanaryPlan(steps=(50, 150))}, "above 100%"),
    ):
        args = {"stable": "v1", "canary": "v2", "plan": CanaryPlan(), **kwargs}
        with pytest.raises(ValidationError, match=fragment):
            CanaryRun(gw, source, canary_route, args["stable"], args["canary"], args["plan"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="needs live metrics"):
        CanaryRun(gw, None, canary_route, "v1", "v2", CanaryPlan())
    assert len(gw.history()) == history
    assert gw.get_route("canary").weight_share() == {"v1": 90.0, "v2": 10.0}


def test_a_failing_canary_aborts_by_itself_and_all_traffic_returns_to_stable(
    shared_native_gateway: NativeConnector, source: MetricsSource, backends: DemoBackends, canary_route: str
) -> None:
    gw = shared_native_gateway
    backends.v2.fail_rate = 0.5
    events: list[CanaryEvent] = []
    plan = CanaryPlan(steps=(20, 50, 100), pause_s=8, max_error_pct=5, max_p99_ms=None, min_requests=10)
    run = CanaryRun(gw, source, canary_route, "v1", "v2", plan, on_event=events.append, check_every=0.5)
    history = len(gw.history())
    with Traffic(gw.listener_url(), "canary.test", 40):
        final = run.run()
    assert final == "aborted", [e.message for e in events]
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and "breach" in kinds and kinds[-1] == "aborted"
    breach = next(e for e in events if e.kind == "breach")
    assert "v2 errors" in breach.message and "> 5% threshold" in breach.message
    assert max(e.weight for e in events) == 20  # never went past the first step
    steps = [e for e in events if e.kind == "step"]
    assert steps and all("weight" in e.diff or "v2" in e.diff for e in steps)
    # Every change went through the normal path: history holds the step and the abort, labelled as
    # the canary's, beside the run's events that changed nothing (its start).
    entries = [e for e in gw.history()[history:] if e.action != "event"]
    assert [e.description for e in entries] == [r.entry.description for r in run.applied]
    assert len(entries) == 2 and all(e.verified for e in entries)
    assert [(e.kind, e.event, e.run) for e in entries] == [
        ("canary", "step", run.run_id),
        ("canary", "abort", run.run_id),
    ]
    events_recorded = [e.event for e in gw.history()[history:] if e.action == "event"]
    assert events_recorded == ["start"]
    assert gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0}
    assert _split(gw, 60) == Counter({"v1": 60})


def test_a_healthy_canary_is_promoted_step_by_step_showing_the_observed_split(
    shared_native_gateway: NativeConnector, source: MetricsSource, canary_route: str
) -> None:
    gw = shared_native_gateway
    events: list[CanaryEvent] = []
    # No latency threshold: on a busy test machine a Python backend's p99 is not the canary's fault.
    plan = CanaryPlan(steps=(50, 100), pause_s=3, max_error_pct=5, max_p99_ms=None, min_requests=5)
    run = CanaryRun(gw, source, canary_route, "v1", "v2", plan, on_event=events.append, check_every=0.5)
    with Traffic(gw.listener_url(), "canary.test", 40):
        assert run.run() == "promoted", [e.message for e in events if e.kind != "watch"]
    assert [e.weight for e in events if e.kind == "step"] == [50, 100]
    observed = [
        e.canary.observed_pct for e in events if e.kind == "watch" and e.canary and e.canary.observed_pct
    ]
    assert observed and observed[-1] == pytest.approx(50, abs=20)  # the split the metrics saw at 50/50
    assert _split(gw, 40) == Counter({"v2": 40})


def test_abort_from_another_thread_while_watching(
    shared_native_gateway: NativeConnector, source: MetricsSource, canary_route: str
) -> None:
    gw = shared_native_gateway
    watching = threading.Event()

    def on_event(event: CanaryEvent) -> None:
        if event.kind == "watch":
            watching.set()

    plan = CanaryPlan(steps=(30, 100), pause_s=60, max_error_pct=5, min_requests=5)
    run = CanaryRun(gw, source, canary_route, "v1", "v2", plan, on_event=on_event, check_every=0.2)
    worker = threading.Thread(target=run.run)
    worker.start()
    assert watching.wait(10)
    run.pause()
    paused = run.state
    run.abort()
    worker.join(10)
    assert paused == "paused"
    assert run.state == "aborted" and not worker.is_alive()
    assert gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0}


def _kinds(events: list[CanaryEvent]) -> list[str]:
    return [e.kind for e in events if e.kind != "watch"]


def test_at_low_traffic_steps_go_on_unjudged_and_the_step_to_100_is_asked_for(
    shared_native_gateway: NativeConnector, source: MetricsSource, canary_route: str
) -> None:
    """The demo's traffic: a few requests a second, a 10 % canary sees one every few seconds. Each
    step says how many requests it saw and goes on unjudged; but with no step judged on enough
    requests the run does not promote by itself: it holds and asks, and promotes once told to."""
    gw = shared_native_gateway
    events: list[CanaryEvent] = []
    plan = CanaryPlan(
        steps=(10, 50, 100), pause_s=1, max_error_pct=5, max_p99_ms=None, min_requests=30, max_wait_s=3
    )
    run = CanaryRun(gw, source, canary_route, "v1", "v2", plan, on_event=events.append, check_every=0.25)
    history = len(gw.history())
    worker = threading.Thread(target=run.run)
    with Traffic(gw.listener_url(), "canary.test", 3):
        worker.start()
        try:
            # (The hold's event, not only its state: the state is set just before the event is said.)
            wait_until(
                lambda: any(e.kind == "held" for e in events), timeout=30, what="the hold before 100 %"
            )
            assert gw.get_route("canary").weight_share() == {"v1": 50.0, "v2": 50.0}
            held = [e for e in events if e.kind == "held"][-1]
            assert held.question.startswith("not enough traffic to judge any step (step 1 at 10%: ")
            assert " of 30 requests; step 2 at 50%: " in held.question
            run.resume()  # the operator, asked, promotes anyway
            worker.join(15)
        finally:
            run.abort()
            worker.join(15)
    assert run.state == "promoted", _kinds(events)
    assert [e.weight for e in events if e.kind == "step"] == [10, 50, 100]
    low = [e.message for e in events if e.kind == "low-traffic"]
    assert len(low) == 2 and low[0].startswith("continued unjudged: ")
    assert " of 30 requests at step 1 (10%) in 3 s; " in low[0]  # then the gates on those seen, if any
    assert low[0].endswith((" on those, within the thresholds", "; no gate to check"))
    # The step's progress was reported live: requests seen, time left, gate values.
    progress = [
        e.progress for e in events if e.kind == "watch" and e.progress is not None and e.progress.step == 1
    ]
    assert progress and progress[-1].requests >= progress[0].requests
    assert progress[0].time_left_s > progress[-1].time_left_s
    assert "step 2/3 at 50%: " in progress[-1].text() and "of 30 canary requests" in progress[-1].text()
    assert "s left; errors 0.0% (max 5%)" in progress[-1].text()
    # The history labels the run's changes and events.
    entries = gw.history()[history:]
    assert {e.kind for e in entries} == {"canary"} and {e.run for e in entries} == {run.run_id}
    # (Step 1 is the weight the route already had: nothing to change, so no change recorded.)
    assert [e.event for e in entries] == [
        *("start", "low-traffic", "step", "low-traffic", "hold", "resume", "promote")
    ]
    audit = [json.loads(line) for line in (state_dir() / "audit.jsonl").read_text().splitlines()]
    assert [a["event"] for a in audit if a.get("run") == run.run_id] == [e.event for e in entries]
    assert CanaryStateStore(run.connector.info().title).load(canary_route) is None  # done: no leftover


def test_asked_at_low_traffic_it_holds_and_resume_goes_on_at_once(
    shared_native_gateway: NativeConnector, source: MetricsSource, canary_route: str
) -> None:
    gw = shared_native_gateway
    events: list[CanaryEvent] = []
    plan = CanaryPlan(
        steps=(10, 50, 100),
        pause_s=1,
        max_p99_ms=None,
        min_requests=1000,
        max_wait_s=1.5,
        on_low_traffic="ask",
    )
    run = CanaryRun(gw, source, canary_route, "v1", "v2", plan, on_event=events.append, check_every=0.2)
    worker = threading.Thread(target=run.run)
    worker.start()
    try:
        wait_until(lambda: any(e.kind == "held" for e in events), what="the run to hold and ask")
        # The run says it holds before it saves the hold: wait for the save.
        store = CanaryStateStore(gw.info().title)
        saved = wait_until(
            lambda: s if (s := store.load(canary_route)) is not None and s.state == "held" else None,
            what="the hold saved",
        )
        held = next(e for e in events if e.kind == "held")
        assert "not enough canary traffic to judge step 1: 0 of 1,000 requests" in held.message
        assert held.message.endswith("; resume to go on")
        assert saved.step == 0 and saved.weight == 10
        run.resume()
        # Resumed: the next step follows at once, not another hold.
        wait_until(lambda: run.weight == 50, timeout=5, what="step 2 right after resume")
        after = _kinds(events)[_kinds(events).index("resumed") + 1 :]
        assert after[0] == "step" and "held" not in after[:1]
        wait_until(lambda: run.state == "held" and run.step == 1, what="the second step to ask too")
    finally:
        run.abort()
        worker.join(10)
    assert run.state == "aborted" and gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0}
    assert CanaryStateStore(gw.info().title).load(canary_route) is None
    events_recorded = [e.event for e in gw.history() if e.run == run.run_id]
    assert events_recorded == ["start", "hold", "resume", "step", "hold", "abort"]


def test_starting_at_fifty_fifty_warns_and_does_not_cut_the_canary_to_one_percent(
    shared_native_gateway: NativeConnector, source: MetricsSource, canary_route: str
) -> None:
    gw = shared_native_gateway
    Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 50, "v2": 50})]))
    plan = CanaryPlan(steps=(1, 5, 25, 50, 100), pause_s=0.5, max_p99_ms=None, min_requests=0)
    restarted = CanaryRun(gw, source, canary_route, "v1", "v2", plan, restart=True)
    assert restarted.warnings == ("v2 has 50% of canary now: the first step cuts it to 1%",)
    events: list[CanaryEvent] = []
    run = CanaryRun(gw, source, canary_route, "v1", "v2", plan, on_event=events.append, check_every=0.2)
    assert run.warnings == (
        "v2 already has 50% of canary: starting at 50% (skipping 1%, 5%, 25%; restart the plan to "
        "begin at 1%)",
    )
    assert run.run() == "promoted"
    assert [e.kind for e in events][:2] == ["started", "warning"]
    assert [e.weight for e in events if e.kind == "step"] == [50, 100]  # never 1 %


def test_a_run_left_by_a_dead_process_is_found_then_resumed_or_aborted(
    shared_native_gateway: NativeConnector, source: MetricsSource, canary_route: str
) -> None:
    gw = shared_native_gateway
    plan = CanaryPlan(steps=(10, 50, 100), pause_s=0.5, max_p99_ms=None, min_requests=0)
    Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 50, "v2": 50})]))
    proc = subprocess.Popen(["true"])  # a pid that no longer runs
    proc.wait()
    store = CanaryStateStore(gw.info().title)
    left = CanaryState(
        "r1",
        gw.info().title,
        canary_route,
        "v1",
        "v2",
        plan.to_json(),
        1,
        50,
        "held",
        "low traffic",
        pid=proc.pid,
    )
    store.save(left)
    found = store.left_over()
    assert found == [left]
    assert found[0].describe().startswith("canary v2 on canary was left held at step 2/3, 50% (last seen ")
    # Aborted by the next start: all traffic back on stable, the leftover gone.
    CanaryRun(gw, source, canary_route, "v1", "v2", plan, resume_from=left).abort()
    assert gw.get_route("canary").weight_share() == {"v1": 100.0, "v2": 0.0} and store.left_over() == []
    # Or resumed: on from the step it was left at.
    Change(gw).apply(gw.plan([set_weights(gw.get_route("canary"), {"v1": 50, "v2": 50})]))
    store.save(left)
    events: list[CanaryEvent] = []
    run = CanaryRun(
        gw,
        source,
        canary_route,
        "v1",
        "v2",
        CanaryPlan.from_json(left.plan),
        resume_from=left,
        on_event=events.append,
        check_every=0.2,
    )
    assert run.run_id == "r1" and run.warnings[0].startswith("resuming: canary v2 on canary was left held")
    assert run.run() == "promoted"
    assert [e.weight for e in events if e.kind == "step"] == [50, 100]
    assert store.left_over() == [] and store.load(canary_route) is None
