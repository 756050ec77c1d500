"""``gatewayctl-tui canary ROUTE --steps 10,50,100 --pause 30s``: a canary run without the console.

Prints the plan, each step as it is applied, the step's progress every few seconds (canary requests
seen, time left, gate values) and how each step ended; exits 0 when the canary is promoted and 1
when the run is aborted (the reason is printed) or fails, like ``kubectl argo rollouts``. At low
traffic each step goes on unjudged after the maximum wait, saying so; but the step to 100 % is not
taken when no step was judged on enough requests: the run stops there, held (exit 1, ``not enough
traffic to judge any step``), unless ``--promote-unjudged``. A run whose process died or stopped
held leaves a state file: the next ``canary ROUTE`` says so and refuses to start another until
``--resume`` carries it on or ``--abort`` sends all traffic back to stable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import TYPE_CHECKING

from .common import EXIT_GATEWAY, Command, UsageError, negative_duration, out, whole_number
from .lifecycle import with_connector
from .metrics_source import open_metrics

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.canary import CanaryEvent, CanaryPlan, CanaryRun
    from connectors.canary_state import CanaryState

PROGRESS_EVERY_S = 5.0
QUIET = frozenset({"watch", "paused", "resumed"})


def _duration(flag: str, text: str) -> float:
    from connectors.model.durations import parse_duration

    if negative_duration(text):
        raise UsageError(f"{flag}: {negative_duration(text)}")
    try:
        return float(text) if text.replace(".", "", 1).isdigit() else parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {text!r} is not a duration (30s, 2m, 500ms)") from exc


def _plan(args: argparse.Namespace) -> CanaryPlan:
    from connectors.canary import CanaryPlan
    from connectors.errors import ValidationError

    try:
        steps = tuple(whole_number(s.strip().rstrip("%")) for s in args.steps.split(",") if s.strip())
    except ValueError as exc:
        raise UsageError(f"--steps: {args.steps!r} is not a list of whole percentages (10,50,100)") from exc
    try:
        error_pct = float(str(args.max_error_rate).rstrip("%"))
    except ValueError as exc:
        raise UsageError(f"--max-error-rate: {args.max_error_rate!r} is not a percentage") from exc
    p99 = None if args.max_p99 in ("", "none") else _duration("--max-p99", args.max_p99) * 1000
    plan = CanaryPlan(
        steps=steps,
        pause_s=_duration("--pause", args.pause),
        max_error_pct=error_pct,
        max_p99_ms=p99,
        min_requests=args.min_requests,
        max_wait_s=_duration("--max-wait", args.max_wait) if args.max_wait else None,
    )
    problems = plan.problems()
    if problems:
        raise ValidationError(problems)
    return plan


def _describe(plan: CanaryPlan) -> str:
    from connectors.canary_judge import max_wait

    gates = f"errors <= {plan.max_error_pct:g}%"
    if plan.max_p99_ms is not None:
        gates += f", p99 <= {plan.max_p99_ms:g} ms"
    need = f"at least {plan.min_requests} canary requests a step (waiting {max_wait(plan):g} s at most), "
    return (
        f"steps {', '.join(map(str, plan.steps))}%, pause {plan.pause_s:g} s, "
        f"{need if plan.min_requests else ''}{gates}"
    )


class Printer:
    """Prints a run's events: every change and verdict, the progress every few seconds."""

    def __init__(self) -> None:
        self._last_progress = 0.0

    def __call__(self, event: CanaryEvent) -> None:
        if event.kind == "watch":
            now = time.monotonic()
            if now - self._last_progress >= PROGRESS_EVERY_S and event.progress is not None:
                self._last_progress = now
                out(f"  {event.progress.text()}")
            return
        if event.kind in QUIET:
            return
        if event.kind == "step":
            self._last_progress = time.monotonic()
        prefix = {"warning": "warning: ", "breach": "breach: ", "low-traffic": "low traffic: "}.get(
            event.kind, ""
        )
        out(f"{prefix}{event.message}")


def _pair(conn: Connector, route: str, canary: str | None) -> tuple[str, str]:
    from connectors.canary import pick_backends

    current = conn.get_route(route)
    if canary is None:
        pair = pick_backends(current)
        if pair is None:
            raise UsageError(f"route {route} has one backend: nothing to canary")
        return pair
    others = sorted((b for b in current.backends if b.name != canary), key=lambda b: -b.weight)
    if not others:
        raise UsageError(f"route {route} has no backend besides {canary!r} to keep as stable")
    return others[0].name, canary


def _left_over(conn: Connector, route: str) -> CanaryState | None:
    from connectors.canary_state import CanaryStateStore

    return next((s for s in CanaryStateStore(conn.info().title).left_over() if s.route == route), None)


def _cmd_canary(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.canary import CanaryPlan, CanaryRun
    from connectors.canary_state import CanaryStateStore

    live = CanaryStateStore(conn.info().title).live(args.route)
    if live is not None:  # one run at a time per route (the run's lock makes sure of it too)
        print(f"error: {live.going()}; it must end first", file=sys.stderr)
        return EXIT_GATEWAY
    left = _left_over(conn, args.route)
    if left is None and (args.resume or args.abort):
        raise UsageError(f"no canary run of {args.route} was left over: nothing to resume or abort")
    if left is not None and not (args.resume or args.abort):
        print(f"error: {left.describe()}", file=sys.stderr)
        print(
            "  --resume carries it on from there; --abort sends all traffic back to stable", file=sys.stderr
        )
        return EXIT_GATEWAY
    if left is not None:
        plan, (stable, canary) = CanaryPlan.from_json(left.plan), (left.stable, left.canary)
    else:
        plan, (stable, canary) = _plan(args), _pair(conn, args.route, args.canary)
    source = open_metrics(args, conn)
    try:
        run = CanaryRun(
            conn,
            source,
            args.route,
            stable,
            canary,
            plan,
            on_event=Printer(),
            restart=args.restart,
            resume_from=left,
            unjudged="allow" if args.promote_unjudged else "refuse",
            on_hold="stop",  # nobody can answer a hold here: the run stops held, exit 1
        )
        if args.abort:
            run.abort()
        else:
            out(f"Canary {canary} on {args.route} (stable {stable}): {_describe(plan)}")
            signum = _run_until_signal(run)
            if signum:
                steps = len(plan.steps)
                print(
                    f"interrupted at step {max(run.step, 0) + 1}/{steps} ({run.weight}%); "
                    "the run is left: --resume / --abort",
                    file=sys.stderr,
                )
                return 128 + signum  # 130 (SIGINT), 143 (SIGTERM), as a shell says
    finally:
        source.close()
    return _ended(run, stable, args.abort)


def _run_until_signal(run: CanaryRun) -> int:
    """Run to the end; SIGINT/SIGTERM leave the run (its state kept for --resume/--abort) and
    return the signal's number, 0 when the run ended by itself."""
    got: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        got.append(signum)
        run.leave()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        run.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return got[0] if got and run.interrupted else 0


def _ended(run: CanaryRun, stable: str, aborting: bool) -> int:
    from connectors.canary import NO_EVIDENCE

    if run.state == "promoted" or run.completed or (aborting and run.state == "aborted"):
        return 0  # promoted, every step of a plan below 100 % passed, or the left-over run aborted
    if run.state == "held":  # stopped held: no step judged before 100 %, or changed from outside
        event = run.last_event
        message = event.message if event is not None else NO_EVIDENCE
        print(f"error: canary {message}", file=sys.stderr)
        if NO_EVIDENCE in message:
            again = f"watches step {run.step + 1} again; --resume --promote-unjudged promotes anyway"
        else:  # held on an outside change (or a gate set to hold)
            again = f"goes on from {run.weight}%"
        print(
            f"  --resume {again}; --abort sends all traffic back to {stable}",
            file=sys.stderr,
        )
    elif run.last_event is not None:
        print(f"error: canary {run.state}: {run.last_event.message}", file=sys.stderr)
    return EXIT_GATEWAY


def _arguments(p: argparse.ArgumentParser) -> None:
    # A negative --pause/--max-wait is the flag's value: common.Parser takes it so for every command.
    p.add_argument("route", metavar="ROUTE")
    p.add_argument(
        "--steps", default="10,50,100", help="canary weights in percent, in order (default 10,50,100)"
    )
    p.add_argument("--pause", default="30s", help="how long to watch each step at least (default 30s)")
    p.add_argument(
        "--min-requests",
        type=whole_number,
        default=20,
        metavar="N",
        help="canary requests a step needs (default 20)",
    )
    p.add_argument(
        "--max-wait", default="", metavar="DURATION", help="how long a step waits for them (default 4 pauses)"
    )
    p.add_argument(
        "--max-error-rate", default="1", metavar="PCT", help="abort above this 5xx share (default 1)"
    )
    p.add_argument(
        "--max-p99", default="500ms", metavar="DURATION", help="abort above this p99 ('none': no limit)"
    )
    p.add_argument(
        "--canary", metavar="BACKEND", help="the canary backend (default: the route's second heaviest)"
    )
    p.add_argument(
        "--restart", action="store_true", help="begin at the first step even if the canary has more now"
    )
    p.add_argument(
        "--promote-unjudged",
        action="store_true",
        help="take the step to 100%% even when no step had enough traffic to judge (default: stop, exit 1)",
    )
    left = p.add_mutually_exclusive_group()
    left.add_argument("--resume", action="store_true", help="carry on a run whose process died")
    left.add_argument("--abort", action="store_true", help="abort a run whose process died (all to stable)")


def commands() -> list[Command]:
    return [
        Command(
            "canary",
            "step a canary's weight, judging each step on its requests, errors and p99 "
            "(exit 0 promoted, 1 aborted)",
            with_connector(_cmd_canary),
            _arguments,
        )
    ]
