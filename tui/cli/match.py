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
from typing import TYPE_CHECKING, Any

from connectors.base import Connector

from .common import EXIT_GATEWAY, Command, UsageError, out, table
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.match import Explanation, Request
    from connectors.model import Gateway
    from connectors.probe import Answer


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


def _model(conn: Connector) -> Gateway:
    from connectors.model import Gateway

    whole = getattr(conn, "gateway", None)
    if callable(whole):
        model = whole()
        if isinstance(model, Gateway):
            return model
    return Gateway(conn.info().name, tuple(conn.list_routes()))


def _base_url(conn: Connector, model: Gateway, explanation: Explanation) -> str | None:
    route = explanation.routing.route or (model.routes[0] if model.routes else None)
    listener = explanation.routing.listener
    url_of = getattr(conn, "listener_url", None)
    if listener is not None and callable(url_of):
        return str(url_of(listener.name))
    place = conn.traffic_url(route) if route is not None else None
    return place[0] if place else None


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
        out("Route:     none — the gateway answers 404")
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
    who = "a backend" if e.answered_by == "upstream" else f"the gateway ({e.answered_by}), {e.status}"
    out(f"Answer:    {who}")


def _print_sent(answer: Answer, ok: bool, why: str) -> None:
    from connectors.probe import describe_source

    status = answer.status if answer.status is not None else "no answer"
    head = f"{status} from {describe_source(answer)}"
    said = answer.explanation if answer.explanation.startswith(head) else f"{head} — {answer.explanation}"
    out(f"Sent:      {said}")  # once: the explanation often is the same words
    if "x-ratelimit-remaining" in answer.headers:
        out(f"Bucket:    {answer.headers['x-ratelimit-remaining']} tokens left")
    out(f"Agrees:    {'yes' if ok else 'NO'} — {why}")


def _bucket(answer: Answer) -> int | None:
    text = answer.headers.get("x-ratelimit-remaining")
    return int(text) if text is not None and text.isdigit() else None


def _cmd_match(args: argparse.Namespace, conn: Connector) -> int:
    from connectors import match

    model = _model(conn)
    explanation = match.explain(model, args.request)
    sent: dict[str, Any] | None = None
    ok = True
    if args.send:
        base = _base_url(conn, model, explanation)
        if args.request.client_ip != "127.0.0.1" and args.output != "json":
            out(f"note: the request is sent from this machine, not from {args.request.client_ip}")
        if base is None:
            out("warning: this machine cannot reach the gateway's data plane; nothing sent")
        else:
            answer = match.send(base, args.request)
            ok, why = match.agrees(explanation, answer)
            explanation = match.explain(model, args.request, bucket=_bucket(answer))
            sent = {
                "status": answer.status,
                "answered_by": answer.answered_by,
                "backend": answer.backend,
                "explanation": answer.explanation,
                "headers": answer.headers,
                "agrees": ok,
                "why": why,
            }
    if args.output == "json":
        from connectors.redact import redact

        data = explanation.to_json()
        if sent is not None:
            data["sent"] = sent
        out(json.dumps(redact(data), indent=2))  # a pasted curl's credentials are not echoed
    else:
        _print(explanation)
        if sent is not None:
            _print_sent(answer, ok, sent["why"])
    return 0 if ok else EXIT_GATEWAY


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
