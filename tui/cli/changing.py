"""The commands that change a gateway: ``set-weights``, ``set-rate-limit``, ``set-cors``, ``undo``.

Each builds its edit of the route as read, then hands it to the change pipeline
(``connectors.change.Change``): rebase onto the gateway now (a conflict if someone changed the same
aspect meanwhile), plan, print the diff; then ``--dry-run`` stops, ``--export`` writes the objects for
review, or the pipeline applies, verifies and records it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.errors import ChangeConflict, Problem, ValidationError, VerificationFailed

from .common import Command, Parser, UsageError, colour_diff, negative_duration, out, warn, whole_number
from .lifecycle import with_connector

if TYPE_CHECKING:
    # Loaded by the commands that change something, not before the console's first frame.
    from connectors.base import ApplyResult, Connector, EditKind, Plan
    from connectors.change import Change
    from connectors.model import Route, StringMatch

RETRY = "Run the command again to change the current values."


def _for_duration(text: str) -> float:
    """``--for``: a duration in the future, at most 7 days (argparse turns the error into a line)."""
    from connectors.timeboxes import parse_for

    if negative_duration(text):  # argparse puts "argument --for: " before it
        raise argparse.ArgumentTypeError(negative_duration(text))
    try:
        return parse_for(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def change_options() -> Parser:
    """The options every changing command takes."""
    p = Parser(add_help=False)
    p.add_argument("--dry-run", action="store_true", help="print the diff, apply nothing")
    p.add_argument("--show-native", action="store_true", help="also print the diff of the native objects")
    p.add_argument(
        "--adopt",
        action="store_true",
        help="also deploy the drift the plan shows (routes whose source was edited by hand; see "
        "gatewayctl-tui drift); without it such a plan is refused",
    )
    p.add_argument(
        "--all-affected",
        action="store_true",
        help="also change the other routes and workloads a shared policy object applies to "
        "(Kubernetes gateways refuse such an edit without it, listing them)",
    )
    p.add_argument(
        "--for",
        dest="for_s",
        type=_for_duration,
        metavar="DURATION",
        help="time-box the change: it reverts by itself after DURATION (e.g. 10m, 1h; at most 7d)",
    )
    p.add_argument(
        "--export",
        metavar="PATH",
        help="write the planned objects as kubectl-applyable YAML to PATH (a file, or a directory) "
        "instead of applying them (Kubernetes gateways)",
    )
    return p


# ---------------------------------------------------------------- through the pipeline


def _print_plan(plan: Plan, show_native: bool) -> None:
    out(f"Plan: {plan.description}")
    if plan.model_diff:
        out(colour_diff(plan.model_diff).rstrip())
    if show_native:
        out("Native changes:" if plan.native_changes else "Native changes: none")
        for change in plan.native_changes:
            out(f"# {change.label}")
            out(colour_diff(change.diff).rstrip())
    for warning in plan.warnings:
        out(f"warning: {warning}")


def _print_result(result: ApplyResult) -> None:
    version = f", version {result.entry.version}" if result.entry.version else ""
    out(f"Applied in {result.seconds * 1000:.0f} ms (change {result.entry.id}{version}).")
    out(f"Verification: {result.verification.headline()}")
    for line in result.verification.details:
        out(f"  {line}")


def _run_plan(
    args: argparse.Namespace, change: Change, plan: Plan, refusal: ValidationError | None = None
) -> int:
    if plan.is_empty and not plan.drift:
        # Nothing to do is one line, not a plan header before it; warnings (drift) still show.
        for warning in plan.warnings:
            out(f"warning: {warning}")
        if any(w.startswith("drift:") for w in plan.warnings):
            # Never a plain "No change" while the YAML and Envoy disagree.
            out("No change to what Envoy serves (it serves that already); the drift above remains.")
        else:
            out("No change: the route already looks like that, and Envoy serves it.")
        return 0
    _print_plan(plan, args.show_native)
    if plan.drift:
        out(f"Drift in this plan: {', '.join(plan.drift)} (not your edit: the gateway serves something else)")
        if args.adopt:
            plan = replace(plan, adopt=True)
        elif not (args.dry_run or args.export):
            from connectors.change.pipeline import drift_refusal

            raise ChangeConflict(drift_refusal(plan))
    if refusal is not None and not (args.dry_run or args.export):
        raise refusal  # after the plan: the operator reads what they would have done
    if args.dry_run:
        timed = " (with --for it would revert by itself after that)" if args.for_s is not None else ""
        out(f"Dry run: nothing applied{timed}.")
        return 0
    if args.export:
        # For GitOps review: write the planned objects instead of applying them.
        for path in change.export(plan, Path(args.export)):
            out(f"Wrote {path}")
        out("Exported: nothing applied.")
        return 0
    if args.for_s is not None:
        change.require_reverts(plan, args.for_s)
    result = change.apply(plan)
    _print_result(result)
    if args.for_s is not None:
        _time_box(change, result, args.for_s)
    if not result.verification.ok:
        raise VerificationFailed("; ".join(result.verification.details) or "the gateway does not show it")
    return 0


def _time_box(change: Change, result: ApplyResult, seconds: float) -> None:
    from connectors.timeboxes import promise

    change.revert_later(result, seconds)
    promised = promise(result.entry.time, seconds)
    out(f"Time box: {promised} through the same path; see: gatewayctl-tui revert-expired --list")
    nobody = change.hooks.reverts.unattended()
    if nobody:  # the promise above would not be kept: say so where the operator looks
        at = time.strftime("%H:%M:%S", time.localtime(result.entry.time + seconds))
        warn(f"{nobody} (nothing will revert it at {at})")


def run_edit(
    args: argparse.Namespace,
    conn: Connector,
    kind: EditKind,
    original: Route,
    edited: Route,
    *,
    warnings: Sequence[str] = (),
    refusal: ValidationError | None = None,
) -> int:
    """For other command groups (``deny``): the same path as ``set-*``; ``warnings`` join the plan's,
    ``refusal`` is raised once the plan is printed unless it is only a dry run or an export."""
    from connectors.change import Change

    change = Change(conn)
    if not (args.dry_run or args.export):
        change.require(kind)
        _require_serving(conn)
    _scope_choice(args, conn)
    plan = change.plan_edit(kind, original, edited, retry=RETRY)
    return _run_plan(args, change, replace(plan, warnings=(*plan.warnings, *warnings)), refusal)


def _change(args: argparse.Namespace, conn: Connector, kind: EditKind, original: Route, edited: Route) -> int:
    """Plan the ``kind`` aspect of ``edited`` (an edit of ``original``, the route as read) and run it."""
    return run_edit(args, conn, kind, original, edited)


def _require_serving(conn: Connector) -> None:
    """A change that would be applied needs a gateway that answers: refused in one line before a
    plan is printed (a dry run or an export still shows it)."""
    from connectors.errors import ConnectionFailed, GatewayNotRunning

    reason = conn.health()
    if reason is not None:
        # A native gateway's own Envoy is not running; a cluster's API server does not answer.
        error = GatewayNotRunning if conn.kind == "native" else ConnectionFailed
        raise error(f"{reason}; nothing was changed")


def _scope_choice(args: argparse.Namespace, conn: Connector) -> None:
    # Kubernetes connectors refuse an edit of a shared policy object unless the operator chose this.
    if getattr(args, "all_affected", False) and hasattr(conn, "affect_shared"):
        conn.affect_shared = True


def _cmd_undo(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.change import Change

    change = Change(conn)
    if not (args.dry_run or args.export):
        _require_serving(conn)
    _scope_choice(args, conn)
    return _run_plan(args, change, change.plan_undo())


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems)


def _duration(text: str, option: str) -> float:
    from connectors.model import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


# ---------------------------------------------------------------- set-weights


def _parse_weights(pairs: Sequence[str]) -> dict[str, int]:
    weights: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"expected BACKEND=WEIGHT, got {pair!r}")
        try:
            weight = whole_number(value)
        except ValueError:
            raise UsageError(f"weight of {name!r} must be a whole number, got {value!r}") from None
        if name in weights:
            raise UsageError(f"backend {name!r} is given twice")
        weights[name] = weight
    return weights


def _check_weights(args: argparse.Namespace) -> None:
    args.weight_map = _parse_weights(args.weights)


def _cmd_set_weights(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model.edits import set_weights
    from connectors.model.validate import weight_problems

    original = conn.get_route(args.route)
    route = set_weights(original, args.weight_map)
    _refuse(weight_problems(route, route.name))
    return _change(args, conn, "weights", original, route)


def _weights_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")
    p.add_argument("weights", metavar="BACKEND=WEIGHT", nargs="+")


# ---------------------------------------------------------------- set-rate-limit


def _check_rate_limit(args: argparse.Namespace) -> None:
    if (args.interval is not None or args.burst is not None) and args.requests is None:
        raise UsageError("--interval and --burst go with --requests")
    others = (args.disable, args.enable, args.remove, args.enforce)
    if args.shadow and any(others):
        raise UsageError("--shadow goes with --requests, or alone to shadow the current limit")
    if not args.shadow and args.requests is None and not any(others):
        raise UsageError("give --requests N, --shadow, --enforce, --disable, --enable or --remove")
    args.interval_seconds = _duration(args.interval, "--interval") if args.interval is not None else None


def _cmd_set_rate_limit(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import RateLimit
    from connectors.model.buckets import bucket_problems
    from connectors.model.edits import set_rate_limit
    from connectors.model.validate import route_problems

    route = conn.get_route(args.route)
    current = route.rate_limit
    limit: RateLimit | None
    if args.remove:
        limit = None
    elif args.requests is None:  # --disable, --enable, --shadow or --enforce the current limit
        if current is None:
            raise ValidationError([Problem(f"{route.name}.rate_limit", "the route has no rate limit")])
        if args.shadow or args.enforce:
            limit = replace(current, shadow=bool(args.shadow), enabled=True)
        else:
            limit = replace(current, enabled=bool(args.enable))
    else:
        # Without --interval keep the route's current interval: "--requests 20" on 10/1m means 20/1m.
        interval = (
            args.interval_seconds
            if args.interval_seconds is not None
            else (current.interval if current else 1.0)
        )
        # A shadowed limit stays shadowed when its numbers change, unless --shadow says so anyway.
        shadow = bool(args.shadow) or bool(current is not None and current.shadow)
        # An explicit burst equal to the default stays as written: the same limit is no change.
        same = current is not None and current.burst == args.requests
        burst = args.burst if args.burst is not None else (current.burst if same and current else None)
        limit = RateLimit(requests=args.requests, interval=interval, burst=burst, shadow=shadow)
    edited = set_rate_limit(route, limit)
    problems = [p for p in route_problems(edited, route.name) if ".rate_limit" in p.path]
    # A --burst below --requests would cap the rate at the burst: refused, never applied silently.
    _refuse(problems or bucket_problems(current, limit, f"{route.name}.rate_limit"))
    return _change(args, conn, "rate_limit", route, edited)


def _rate_limit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--requests", type=whole_number, metavar="N", help="requests allowed per interval")
    what.add_argument("--enforce", action="store_true", help="enforce a shadowed limit (refuse requests)")
    what.add_argument("--disable", action="store_true", help="keep the limit but stop enforcing it")
    what.add_argument("--enable", action="store_true", help="enforce a disabled limit again")
    what.add_argument("--remove", action="store_true", help="remove the limit")
    p.add_argument(
        "--interval", metavar="DURATION", help="refill interval: 1s, 1m... (default: current or 1s)"
    )
    p.add_argument("--burst", type=whole_number, metavar="N", help="bucket size (default: N of --requests)")
    p.add_argument(
        "--shadow",
        action="store_true",
        help="count what the limit would refuse without refusing anything (alone: shadow the current limit)",
    )


# ---------------------------------------------------------------- set-cors


def _origin(text: str) -> StringMatch:
    """``https://x`` (exact), ``prefix:https://x``, ``regex:https://.*\\.x``, ``exact:...``."""
    from connectors.model import StringMatch

    for kind in ("prefix", "regex", "exact"):
        if text.startswith(kind + ":"):
            return StringMatch(kind, text[len(kind) + 1 :])
    return StringMatch("exact", text)


def _check_cors(args: argparse.Namespace) -> None:
    others = [args.allow_origin, args.allow_method, args.allow_header, args.expose_header, args.max_age]
    if args.remove and (any(others) or args.allow_credentials):
        raise UsageError("--remove takes no other CORS option")
    if not args.remove and not args.allow_origin:
        raise UsageError("give --allow-origin ORIGIN... (or --remove)")
    args.max_age_seconds = _duration(args.max_age, "--max-age") if args.max_age is not None else None


def _cmd_set_cors(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.model import Cors
    from connectors.model.edits import set_cors
    from connectors.model.validate import cors_problems

    route = conn.get_route(args.route)
    cors: Cors | None = None
    if not args.remove:
        cors = Cors(
            allow_origins=tuple(_origin(o) for o in args.allow_origin),
            allow_methods=tuple(m.upper() for m in args.allow_method or ()),
            allow_headers=tuple(args.allow_header or ()),
            expose_headers=tuple(args.expose_header or ()),
            max_age=args.max_age_seconds,
            allow_credentials=args.allow_credentials,
        )
        _refuse(cors_problems(cors, f"{route.name}.cors"))
    return _change(args, conn, "cors", route, set_cors(route, cors))


def _cors_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")
    p.add_argument(
        "--allow-origin",
        nargs="+",
        action="extend",
        metavar="ORIGIN",
        help="exact origin (https://app.example), prefix:https://app. or regex:https://.*\\.example",
    )
    p.add_argument("--allow-method", nargs="+", action="extend", metavar="M")
    p.add_argument("--allow-header", nargs="+", action="extend", metavar="H")
    p.add_argument("--expose-header", nargs="+", action="extend", metavar="H")
    p.add_argument("--max-age", metavar="DURATION", help="how long browsers may cache a preflight")
    p.add_argument("--allow-credentials", action="store_true")
    p.add_argument("--remove", action="store_true", help="remove the CORS policy")


# ---------------------------------------------------------------- the commands


def commands() -> list[Command]:
    return [
        Command(
            "undo",
            "restore the routes of the last change not undone yet",
            with_connector(_cmd_undo),
            changes=True,
        ),
        Command(
            "set-weights",
            "set backend weights of a route, e.g. shop v1=50 v2=50",
            with_connector(_cmd_set_weights, _check_weights),
            _weights_arguments,
            changes=True,
        ),
        Command(
            "set-rate-limit",
            "set, disable, enable or remove a route's local rate limit",
            with_connector(_cmd_set_rate_limit, _check_rate_limit),
            _rate_limit_arguments,
            changes=True,
        ),
        Command(
            "set-cors",
            "set (replace) or remove a route's CORS policy",
            with_connector(_cmd_set_cors, _check_cors),
            _cors_arguments,
            changes=True,
        ),
    ]
