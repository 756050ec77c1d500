"""The interactive canary: bad plans are refused with every reason and change nothing; a failing
canary aborts by itself and real requests then all reach stable; a healthy one is promoted. Each
live scenario runs with the admin-stats source and with a real Prometheus."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from connectors.canary import CanaryEvent, CanaryPlan, CanaryRun
from connectors.change import Change
from connectors.demo.prometheus import PrometheusProcess, find_prometheus
from connectors.errors import ValidationError
from connectors.metrics import MetricsSource, PrometheusConfig, metrics_for
from connectors.native import NativeConnector
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
    # Every change went through the normal path: history holds the step and the abort.
    entries = gw.history()[history:]
    assert [e.description for e in entries] == [r.entry.description for r in run.applied]
    assert len(entries) == 2 and all(e.verified for e in entries)
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
