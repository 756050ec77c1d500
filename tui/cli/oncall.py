"""The on-call commands: ``split ROUTE``, ``triage``, ``canary ROUTE``.

    split ROUTE [-o json]        the route's requests per backend since its last weight change, and
                                 whether that split is consistent with the declared weights; exit 0
                                 whenever a verdict was computed (too-few included), 1 on errors
    triage [--window 5m] [--by HEADER] [-o json]
                                 routes ranked by 429s over the window, since when each limits, and
                                 the clients refused most; exit 0
    canary ROUTE --steps 10,50,100 --pause 30s [...]
                                 step the canary's weight, judging each step on what happened since
                                 it began; exit 0 when promoted, 1 when aborted (with the reason)

Figures come from Prometheus with ``--prometheus URL``, else from the gateway's own source (Envoy's
admin endpoint and access log for native gateways).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import TYPE_CHECKING

from .common import Command, UsageError, out, table
from .lifecycle import with_connector
from .metrics_source import open_metrics

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.metrics import MetricsSource
    from connectors.split import SplitReport
    from connectors.triage import TriageReport


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t is not None else "-"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


# -- split -------------------------------------------------------------------------------------


def _cmd_split(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.split import split_since_change

    source = open_metrics(args, conn)
    try:
        report = split_since_change(conn, source, args.route)
    finally:
        source.close()
    if args.output == "json":
        out(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        out(split_text(report))
    return 0


def split_text(report: SplitReport) -> str:
    """The ``split`` command's plain output."""
    change = report.change
    since = (
        f"change {change.id} at {_when(change.time)} ({change.description})"
        if change is not None
        else "the gateway's start (no weight change recorded)"
    )
    j = report.judgement
    rows = [
        [
            b.backend,
            f"{b.declared_pct:g}%",
            f"{b.requests:,}",
            _pct(b.observed_pct),
            "-" if b.interval is None else f"{b.interval[0]:.1f}-{b.interval[1]:.1f}%",
        ]
        for b in j.backends
    ]
    lines = [
        f"Route:     {report.route}",
        f"Since:     {since}",
        f"Requests:  {report.route_requests:,} on the route, {j.requests:,} reached its backends",
        f"Source:    {report.source} ({report.basis})",
        "",
        table(["BACKEND", "DECLARED", "REQUESTS", "OBSERVED", "95% INTERVAL"], rows),
        "",
        f"Verdict:   {j.verdict}: {j.message}",
    ]
    lines += [f"Warning:   {w}" for w in report.warnings]
    return "\n".join(lines)


# -- triage ------------------------------------------------------------------------------------


def _window(text: str) -> float:
    from connectors.model.durations import parse_duration
    from connectors.triage import WINDOWS

    if text in WINDOWS:
        return WINDOWS[text]
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--window: {text!r} is not a duration (1m, 5m, 15m)") from exc
    if not 10 <= seconds <= 86400:
        raise UsageError(f"--window: {text} is out of range (10s to 24h; usually 1m, 5m or 15m)")
    return seconds


def _check_triage(args: argparse.Namespace) -> None:
    args.window_s = _window(args.window)
    if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", args.by):  # RFC 9110 token: no space, no CR/LF
        raise UsageError(f"--by: {args.by!r} is not a header name")
    args.by = args.by.lower()


def _grouped_by(source: MetricsSource, by: str) -> None:
    """Refuse a header the access log does not hold: every client would be '-'."""
    keys = source.client_keys()
    if by != "source" and by not in keys:
        logged = ", ".join(k for k in keys if k != "source") or "none"
        raise UsageError(
            f"--by: {by} is not among the request headers in the gateway's access log (seen: {logged}; "
            "or: source)"
        )


def _cmd_triage(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.triage import report

    window_s = args.window_s
    source = open_metrics(args, conn)
    try:
        _first_rates(source)
        result = report(conn, source, window_s, args.by)
        _grouped_by(source, args.by)  # after the report: it read the window's access log
    finally:
        source.close()
    if args.output == "json":
        out(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        out(triage_text(result))
    return 0


def _first_rates(source: MetricsSource, wait_s: float = 3.0) -> None:
    """A source made just now has no rates until its second reading: wait for it (the "now" column)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        snap = source.snapshot()
        if not snap.ok or snap.routes or snap.gateway is not None:
            return
        time.sleep(0.25)


def triage_text(result: TriageReport) -> str:
    """The ``triage`` command's plain output."""
    from connectors.model.durations import format_duration
    from connectors.triage import window_label

    label = window_label(result.window_s)
    rows = []
    for r in result.rows:
        since = "-"
        if r.since is not None:
            held = ("> " if r.since_before_window else "") + format_duration(round(result.time - r.since))
            since = f"{time.strftime('%H:%M:%S', time.localtime(r.since))} ({held})"
        rows.append(
            [
                r.route,
                f"{r.limited:,}",
                f"{r.requests:,}",
                f"{r.limited_pct:.0f}%",
                f"{r.limited_rps:.1f}",
                r.limit.describe() if r.limit is not None else "none",
                since,
            ]
        )
    lines = [result.message]
    if rows:
        headers = ["ROUTE", f"429s ({label})", "REQUESTS", "REFUSED", "429/s NOW", "LIMIT", "LIMITING SINCE"]
        lines += ["", table(headers, rows)]
    for route, clients in result.clients.items():
        if clients:
            who = ", ".join(f"{c} {n:,}" for c, n in clients)
            lines.append(f"\nTop limited clients of {route} by {result.by} ({label}): {who}")
            if note := result.clients_notes.get(route):
                lines.append(f"  {note}")
    return "\n".join(lines + shadow_text(result))


def shadow_text(result: TriageReport) -> list[str]:
    """What each shadowed limit would refuse if enforced, and whom (as the console's triage says)."""
    if result.shadow_problem:
        return [f"\nShadowed limits unknown: {result.shadow_problem}"]
    lines = []
    for s in result.shadow.values():
        who = ", ".join(f"{c} ({n:,})" for c, n in s.clients[:5])
        lines.append(f"\nShadowed: {s.route} {s.describe()}" + (f": {who}" if who else ""))
        if s.note:
            lines.append(f"  note: {s.note}")
        lines.append(
            f"  enforce it: gatewayctl-tui set-rate-limit {s.route} --enforce (the usual diff first)"
        )
    return lines


# -- arguments ---------------------------------------------------------------------------------


def _split_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("route", metavar="ROUTE")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")


def _triage_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window", default="5m", help="how far back to count 429s: 1m, 5m (default), 15m")
    p.add_argument(
        "--by",
        default="source",
        metavar="HEADER",
        help="group clients by a logged request header (default: address)",
    )
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")


def commands() -> list[Command]:
    from . import canary_cmd

    return [
        Command(
            "split",
            "requests per backend since the route's last weight change, and whether they match its weights",
            with_connector(_cmd_split),
            _split_arguments,
        ),
        Command(
            "triage",
            "routes ranked by 429s over a window, since when they limit, and who is refused",
            with_connector(_cmd_triage, _check_triage),
            _triage_arguments,
        ),
        *canary_cmd.commands(),
    ]
