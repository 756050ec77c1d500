"""``match``: "what happens to this request?" — the route, the backends and the policies, offline
from the model; ``--send`` then sends it through the gateway and says whether the answer agrees.

    gatewayctl-tui match --host shop.demo --path /static/app.css
    gatewayctl-tui match --host api.demo --path /secure -H 'authorization: Bearer ...' --send
    gatewayctl-tui match --curl "curl -H 'host: api.demo' http://127.0.0.1:10000/limited"

A malformed URL, header or host is one line naming the field; nothing is sent.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .common import EXIT_GATEWAY, Command, UsageError, out, table
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.match import Explanation, Request
    from connectors.match.outcome import Outcome


def _request(args: argparse.Namespace) -> Request:
    from connectors import match

    if args.curl:
        return match.from_curl(args.curl, client_ip=args.client_ip)
    if args.url:
        return match.from_url(args.url, method=args.method, headers=args.header, client_ip=args.client_ip)
    return match.build(
        host=args.host, path=args.path, method=args.method, headers=args.header, client_ip=args.client_ip
    )


def _check(args: argparse.Namespace) -> None:
    from connectors.errors import ValidationError

    # Parsed before connecting: a malformed request is refused without touching the gateway.
    try:
        args.request = _request(args)
    except ValidationError as exc:
        raise UsageError("; ".join(str(p) for p in exc.problems)) from None


def _print(e: Explanation) -> None:
    from connectors.redact import redact_text

    r = e.request
    out(
        f"Request:   {r.method} {r.host}{redact_text(r.path)}"
        + (f"  (from {r.client_ip})" if r.client_ip != "127.0.0.1" else "")
    )
    where = e.routing.listener.name if e.routing.listener else "-"
    out(f"Listener:  {where}   virtual host: {e.routing.domain or '(none matches)'}")
    route = e.routing.route
    if route is None:
        out(f"Route:     none — the gateway answers {e.status}")  # 404, or 307/400 for the path
    else:
        idx = e.routing.match_index or 0
        out(f"Route:     {route.name}   (match {route.matches[idx]})")
    if e.routing.passed_over:
        out("Passed over:")
        out(table(["  ROUTE", "WHY NOT"], [[f"  {p.route}", p.reason] for p in e.routing.passed_over]))
    if route is not None:
        out(
            "Backends:  "
            + (", ".join(f"{n} {p:.4g}%" for n, p in e.backends) or "none (every weight is 0: 503)")
        )
        out("Policies, in order:")
        rows = [[f"  {s.policy}", "applies" if s.applies else "-", s.effect] for s in e.steps]
        out(table(["  POLICY", "", "EFFECT"], rows))
    for note in e.notes:
        out(f"Note:      {note}")
    who = "a backend" if e.answered_by == "upstream" else f"the gateway ({e.answered_by}), {e.status}"
    out(f"Answer:    {who}")


def _print_sent(outcome: Outcome) -> None:
    sent = outcome.sent
    if sent is None:
        if outcome.unsent:
            out(f"warning: {outcome.unsent}")
        return
    out(f"Sent:      {outcome.sent_text}")
    if sent.route_known:
        out(f"Route:     {sent.route or 'none'} took it (the gateway's access log)")
    if sent.bucket is not None:
        out(f"Bucket:    {sent.bucket} tokens left")
    out(f"Agrees:    {'yes' if outcome.agrees else 'NO'} — {outcome.why}")


def _cmd_match(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.match.outcome import answer

    if args.send and args.request.client_ip != "127.0.0.1" and args.output != "json":
        out(f"note: the request is sent from this machine, not from {args.request.client_ip}")
    outcome = answer(conn, args.request, send_it=args.send)
    if args.output == "json":
        from connectors.redact import redact

        out(json.dumps(redact(outcome.to_json()), indent=2))  # a pasted curl's credentials are not echoed
    else:
        _print(outcome.explanation)
        _print_sent(outcome)
    return 0 if outcome.ok else EXIT_GATEWAY


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="the request's Host (a port is ignored, as Envoy does)")
    p.add_argument("--path", default="/", help="the request path, with any query (default /)")
    p.add_argument("-X", "--method", "--request", dest="method", default="GET", metavar="METHOD")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'")
    p.add_argument("--url", help="the whole URL instead of --host/--path (its port picks the listener)")
    p.add_argument("--curl", metavar="COMMAND", help="a pasted curl command (its -X, -H, -d and URL)")
    p.add_argument("--client-ip", default="127.0.0.1", metavar="IP", help="the client's address")
    p.add_argument("--send", action="store_true", help="then send it through the gateway and compare")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")


def commands() -> list[Command]:
    return [
        Command(
            "match",
            "what happens to a request: its route, backends and policies (--send: and who answers)",
            with_connector(_cmd_match, _check),
            _arguments,
        )
    ]
