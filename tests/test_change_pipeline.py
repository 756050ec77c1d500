"""The one change pipeline (``connectors.change.Change``) against a real native gateway.

Two operators (two connectors attached to the same gateway, as two CLI processes are) race: an edit
of the same aspect is refused as a conflict and changes nothing; an edit of another aspect keeps
the other operator's change. The CLI and the canary get that rule too. The pipeline reads the route
once per plan, and its hooks (drift check, journal, revert later) are called where documented.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connectors.base import ApplyResult, Connector, Plan
from connectors.canary import CanaryEvent, CanaryPlan, CanaryRun
from connectors.change import Change, ChangeHooks
from connectors.errors import ChangeConflict, PermissionDenied
from connectors.history import HistoryEntry
from connectors.metrics import metrics_for
from connectors.model import RateLimit, Route
from connectors.model.edits import set_rate_limit, set_weights
from connectors.native import NativeConnector
from tests.native_support import client
from tui.cli import main

LIMIT = RateLimit(requests=50, interval=60.0)


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    """The module's gateway, with the ``canary`` route (v1 90 / v2 10) put back afterwards."""
    before = shared_native_gateway.get_route("canary")
    yield shared_native_gateway
    plan = Change(shared_native_gateway).plan_routes([before])
    if not plan.is_empty:
        Change(shared_native_gateway).apply(plan)
    assert shared_native_gateway.get_route("canary") == before


@pytest.fixture
def other(gw: NativeConnector) -> Iterator[NativeConnector]:
    """A second operator: another connector attached to the same gateway (like a second CLI)."""
    conn = NativeConnector.attach(gw.state_dir)
    yield conn
    conn.close()


def their_edit(conn: Connector, edit: str) -> ApplyResult:
    """Another operator's change of the canary route, through the pipeline with no hooks."""
    change = Change(conn, ChangeHooks())
    route = conn.get_route("canary")
    if edit == "weights":
        return change.apply(change.plan_edit("weights", route, set_weights(route, {"v1": 65, "v2": 35})))
    return change.apply(change.plan_edit("rate_limit", route, set_rate_limit(route, LIMIT)))


def served_split(gw: NativeConnector, n: int = 40) -> Counter[str]:
    with client(gw) as c:
        return Counter(c.get("/", headers={"host": "canary.test"}).headers["x-backend"] for _ in range(n))


# ---------------------------------------------------------------- two operators racing


def test_an_edit_of_an_aspect_someone_changed_meanwhile_is_refused_and_changes_nothing(
    gw: NativeConnector, other: NativeConnector
) -> None:
    original = gw.get_route("canary")  # read, then the other operator moves the weights
    their_edit(other, "weights")
    history = len(gw.history())
    with pytest.raises(ChangeConflict) as caught:
        Change(gw).plan_edit("weights", original, set_weights(original, {"v1": 50, "v2": 50}))
    message = str(caught.value)
    assert "The weights of route canary changed on the gateway since it was read" in message
    assert "weight: 65" in message and message.endswith("Start again from the current values.")
    assert len(gw.history()) == history
    assert gw.get_route("canary").weight_share() == {"v1": 65.0, "v2": 35.0}


def test_an_edit_of_another_aspect_keeps_their_change(gw: NativeConnector, other: NativeConnector) -> None:
    original = gw.get_route("canary")
    their_edit(other, "rate_limit")
    change = Change(gw)
    plan = change.plan_edit("weights", original, set_weights(original, {"v1": 0, "v2": 100}))
    assert "route canary was changed by someone else meanwhile; this plan keeps their change" in plan.warnings
    removed = [line for line in plan.model_diff.splitlines() if line.startswith("-") and line[1:2] != "-"]
    assert removed and not any("rate_limit" in line or "requests" in line for line in removed)
    result = change.apply(plan)
    assert result.verification.ok
    now = gw.get_route("canary")
    assert now.rate_limit == LIMIT and now.weight_share() == {"v1": 0.0, "v2": 100.0}
    assert served_split(gw) == Counter({"v2": 40})


@dataclass
class RacingEdit:
    """A drift check that lands another operator's edit just before the CLI plans (once): the
    window between the CLI reading the route and planning its edit, made wide."""

    state_dir: Path
    edit: str
    done: bool = False

    def before_plan(self, connector: Connector) -> tuple[str, ...]:
        if not self.done:
            self.done = True
            conn = NativeConnector.attach(self.state_dir)
            try:
                their_edit(conn, self.edit)
            finally:
                conn.close()
        return ()


def racing(monkeypatch: pytest.MonkeyPatch, gw: NativeConnector, edit: str) -> None:
    hooks = ChangeHooks(drift=RacingEdit(gw.state_dir, edit))
    monkeypatch.setattr(NativeConnector, "change_hooks", lambda self: hooks)


def test_two_cli_weight_edits_racing_the_second_is_refused(
    gw: NativeConnector, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    racing(monkeypatch, gw, "weights")
    history = len(gw.history())
    rc = main(["set-weights", "canary", "v1=50", "v2=50", "--gateway", str(gw.state_dir)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith(
        "error: Changed by someone else: The weights of route canary changed on the gateway"
    )
    assert err.rstrip().endswith("Run the command again to change the current values.")
    assert len(err.splitlines()) == 1
    assert len(gw.history()) == history + 1  # theirs only
    assert gw.get_route("canary").weight_share() == {"v1": 65.0, "v2": 35.0}


def test_a_cli_weight_edit_racing_a_rate_limit_edit_keeps_both(
    gw: NativeConnector, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    racing(monkeypatch, gw, "rate_limit")
    rc = main(["set-weights", "canary", "v1=0", "v2=100", "--gateway", str(gw.state_dir)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "warning: route canary was changed by someone else meanwhile; this plan keeps their change" in out
    now = gw.get_route("canary")
    assert now.rate_limit == LIMIT and now.weight_share() == {"v1": 0.0, "v2": 100.0}


# ---------------------------------------------------------------- the canary gets the rule


def _canary(gw: NativeConnector) -> tuple[CanaryRun, threading.Thread]:
    """A canary run of ``canary`` (v1 → v2), watching its first step (30 %) on a worker thread."""
    watching = threading.Event()
    events: list[CanaryEvent] = []

    def seen(event: CanaryEvent) -> None:
        events.append(event)
        if event.kind == "watch":
            watching.set()

    source = metrics_for(gw)
    assert source is not None
    plan = CanaryPlan(steps=(30, 100), pause_s=60, max_error_pct=5, min_requests=5)
    run = CanaryRun(gw, source, "canary", "v1", "v2", plan, on_event=seen, check_every=0.2)
    worker = threading.Thread(target=run.run)
    worker.start()
    assert watching.wait(10), [e.message for e in events]
    return run, worker


def test_a_canary_promoted_after_someone_else_set_a_rate_limit_keeps_it(
    gw: NativeConnector, other: NativeConnector
) -> None:
    run, worker = _canary(gw)
    their_edit(other, "rate_limit")
    run.promote()
    worker.join(15)
    assert run.state == "promoted", run.last_event
    now = gw.get_route("canary")
    assert now.rate_limit == LIMIT and now.weight_share() == {"v1": 0.0, "v2": 100.0}


def test_a_canary_stops_instead_of_overwriting_weights_someone_else_set(
    gw: NativeConnector, other: NativeConnector
) -> None:
    run, worker = _canary(gw)
    their_edit(other, "weights")
    run.promote()
    worker.join(15)
    assert run.state == "failed"
    assert run.last_event is not None
    assert run.last_event.message.startswith("Changed by someone else: The weights of route canary")
    assert gw.get_route("canary").weight_share() == {"v1": 65.0, "v2": 35.0}


# ---------------------------------------------------------------- reads and hooks


class CountingNative(NativeConnector):
    """The real native connector, counting how often a change reads the routes and plans."""

    reads: Counter[str]

    def list_routes(self) -> list[Route]:
        self.reads["list_routes"] += 1
        return super().list_routes()

    def plan(self, routes: Sequence[Route]) -> Plan:
        self.reads["plan"] += 1
        return super().plan(routes)


def test_a_plan_reads_the_route_once_when_nobody_moved_it(gw: NativeConnector) -> None:
    conn = CountingNative.attach(gw.state_dir)
    assert isinstance(conn, CountingNative)
    try:
        conn.reads = Counter()
        original = gw.get_route("canary")
        plan = Change(conn).plan_edit("weights", original, set_weights(original, {"v1": 60, "v2": 40}))
        assert conn.reads == Counter({"plan": 1})
        assert not any("someone else" in w for w in plan.warnings)
    finally:
        conn.close()


@dataclass
class RecordingJournal:
    """Notes each call with how many history entries existed at that moment."""

    history: NativeConnector
    calls: list[tuple[str, int]] = field(default_factory=list)

    def intent(self, plan: Plan) -> None:
        self.calls.append(("intent", len(self.history.history())))

    def completed(self, plan: Plan, entry: HistoryEntry) -> None:
        assert self.history.history()[-1] == entry
        self.calls.append(("completed", len(self.history.history())))

    def abandoned(self, plan: Plan, error: BaseException) -> None:
        self.calls.append((f"abandoned {type(error).__name__}", len(self.history.history())))


@dataclass
class Drift:
    warnings: tuple[str, ...]

    def before_plan(self, connector: Connector) -> tuple[str, ...]:
        return self.warnings


def test_the_journal_brackets_the_write_and_the_drift_check_runs_before_planning(
    gw: NativeConnector, other: NativeConnector
) -> None:
    journal = RecordingJournal(gw)
    change = Change(gw, ChangeHooks(drift=Drift(("Envoy serves something else",)), journal=journal))
    route = gw.get_route("canary")
    plan = change.plan_edit("weights", route, set_weights(route, {"v1": 80, "v2": 20}))
    assert plan.warnings[0] == "Envoy serves something else"
    n = len(gw.history())
    change.apply(plan)
    assert journal.calls == [("intent", n), ("completed", n + 1)]

    route = gw.get_route("canary")
    stale = change.plan_edit("weights", route, set_weights(route, {"v1": 75, "v2": 25}))
    their_edit(other, "rate_limit")  # the config file moves after the plan was made
    with pytest.raises(ChangeConflict):
        change.apply(stale)
    assert journal.calls[-2:] == [("intent", n + 2), ("abandoned ChangeConflict", n + 2)]


def test_apply_refuses_in_read_only_mode_and_revert_later_keeps_a_time_box(gw: NativeConnector) -> None:
    conn = NativeConnector.attach(gw.state_dir, readonly=True)
    try:
        route = conn.get_route("canary")
        change = Change(conn)
        plan = change.plan_edit("weights", route, set_weights(route, {"v1": 10, "v2": 90}))
        with pytest.raises(PermissionDenied, match="read-only mode"):
            change.apply(plan)
        with pytest.raises(PermissionDenied, match="read-only"):
            change.require("weights")
    finally:
        conn.close()
    change = Change(gw)
    route = gw.get_route("canary")
    result = change.apply(change.plan_edit("weights", route, set_weights(route, {"v1": 85, "v2": 15})))
    change.revert_later(result, 60)  # the native connector keeps time boxes in its state folder
    box = change.hooks.reverts.boxes()[-1]
    assert (box.id, box.status, box.routes) == (result.entry.id, "pending", ["canary"])
    with pytest.raises(PermissionDenied, match="cannot revert a change by itself later"):
        Change(gw, hooks=ChangeHooks()).revert_later(result, 60)  # the default hooks: only a seam
