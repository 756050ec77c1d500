"""How a canary step is judged, on its own: counts since the step began against the plan."""

from __future__ import annotations

from dataclasses import replace

from connectors.canary_judge import StepProgress, judge, max_wait
from connectors.canary_plan import CanaryPlan


def _at(elapsed: float, requests: int, errors: int = 0, p99: float | None = 20.0) -> StepProgress:
    return StepProgress(0, 3, 10, elapsed, requests, errors, p99, 20, 30.0, 120.0, 1.0, 500.0, "v2")


def test_a_step_waits_its_pause_then_passes_once_it_has_enough_requests() -> None:
    assert judge(_at(10, 50)).outcome == "wait"  # enough requests, pause not over
    assert judge(_at(31, 12)).outcome == "wait"  # pause over, too few yet, max wait not reached
    passed = judge(_at(31, 20))
    assert (
        passed.outcome == "pass"
        and passed.reason == "20 canary requests, errors 0.0%, p99 20 ms: within the thresholds"
    )


def test_at_low_traffic_the_step_ends_after_the_maximum_wait_and_says_so() -> None:
    d = judge(_at(120, 3))
    assert d.outcome == "low-traffic"
    assert d.reason == "not enough canary traffic to judge step 1: 3 of 20 requests in 120 s"


def test_gates_are_judged_as_soon_as_there_are_enough_requests() -> None:
    d = judge(_at(5, 20, errors=2))
    assert d.outcome == "breach" and d.reason == "v2 errors 10.0% (2 of 20) > 1% threshold"
    assert judge(_at(5, 19, errors=5)).outcome == "wait"  # too few to judge yet
    slow = judge(_at(5, 40, p99=900.0))
    assert slow.outcome == "breach" and slow.reason == "v2 p99 900 ms > 500 ms threshold"
    # At the end of the wait, the gates are judged on whatever there is.
    assert judge(_at(120, 3, errors=1)).outcome == "breach"
    assert judge(replace(_at(31, 40, p99=900.0), max_p99_ms=None)).outcome == "pass"


def test_progress_reads_as_one_line_with_requests_time_left_and_gates() -> None:
    assert (
        _at(10, 12).text() == "step 1/3 at 10%: 12 of 20 canary requests, 110 s left; "
        "errors 0.0% (max 1%), p99 20 ms (max 500 ms)"
    )
    assert _at(10, 25).time_left_s == 20.0  # enough: only the pause is left
    assert (
        replace(_at(3, 4), min_requests=0).text().startswith("step 1/3 at 10%: 4 canary requests, 27 s left")
    )


def test_the_maximum_wait_defaults_to_four_pauses_and_a_minute_at_least() -> None:
    assert max_wait(CanaryPlan(pause_s=30)) == 120
    assert max_wait(CanaryPlan(pause_s=5)) == 60
    assert max_wait(CanaryPlan(pause_s=30, max_wait_s=10)) == 30  # never shorter than the pause
    assert CanaryPlan.from_json(CanaryPlan(steps=(10, 100), max_wait_s=45).to_json()) == CanaryPlan(
        steps=(10, 100), max_wait_s=45
    )
