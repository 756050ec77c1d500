"""The answer to "what happens to this request?", as the ``match`` command prints it: the route and
why the others did not take it, the backends with their shares, the policies in order, notes on the
path; after a send, what the gateway answered, the route its access log names, the bucket's level
and whether all that agrees with the prediction. Credentials in the request are never shown."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from connectors.match.outcome import Outcome
from connectors.redact import redact_text

LABEL = 12


def _field(label: str, value: Content | str, style: str = "") -> Content:
    text = value if isinstance(value, Content) else Content(value)
    if style:
        text = text.stylize(style)
    return Content.assemble(Content.styled(f"{label:<{LABEL}}", "bold $text-secondary"), text)


def _table(rows: list[tuple[str, str, str]]) -> list[Content]:
    """Indented rows whose first columns are padded to their widest value."""
    width = max((len(a) for a, _, _ in rows), default=0)
    middle = max((len(b) for _, b, _ in rows), default=0)
    return [
        Content.assemble(
            " " * LABEL,
            Content.styled(f"{a:<{width}}  ", "bold"),
            Content.styled(f"{b:<{middle}}  ", "$text-muted"),
            c,
        )
        for a, b, c in rows
    ]


def summary_lines(outcome: Outcome) -> list[Content]:
    """The answer first: the route, who answers, and after a send what happened and the verdict."""
    e = outcome.explanation
    route = e.routing.route
    if route is None:
        # 404 when no route matches; 307 or 400 when Envoy answers for the path before routing.
        lines = [_field("Route", f"none — the gateway answers {e.status}", "bold $text-warning")]
    else:
        match = route.matches[e.routing.match_index or 0]
        name = Content.styled(route.name, "bold $text-accent")
        lines = [_field("Route", Content.assemble(name, f"   (match {match})"))]
    who = "a backend" if e.answered_by == "upstream" else f"the gateway ({e.answered_by}), {e.status}"
    lines.append(_field("Answer", who, "bold"))
    deciding = next((step for step in e.steps if step.answers is not None), None)
    if deciding is not None:  # the gateway answers itself: why, without scrolling to the policies
        lines.append(_field("Because", f"{deciding.policy}: {deciding.effect}"))
    lines += [_field("Note", note, "$text-warning") for note in e.notes]
    return lines + sent_lines(outcome)


def detail_lines(outcome: Outcome) -> list[Content]:
    """How the answer was reached: listener, the routes passed over, backends, policies in order."""
    e = outcome.explanation
    r = e.request
    lines = [_field("Request", f"{r.method} {r.host}{redact_text(r.path)}")]
    where = e.routing.listener.name if e.routing.listener else "-"
    lines.append(_field("Listener", f"{where}   virtual host: {e.routing.domain or '(none matches)'}"))
    if e.routing.passed_over:
        lines.append(_field("Passed over", ""))
        lines += _table([(p.route, "", p.reason) for p in e.routing.passed_over])
    if e.routing.route is not None:
        shares = ", ".join(f"{n} {p:.4g}%" for n, p in e.backends) or "none (every weight is 0: 503)"
        lines.append(_field("Backends", shares))
        lines.append(_field("Policies", "in the order Envoy runs them"))
        lines += _table([(s.policy, "applies" if s.applies else "-", s.effect) for s in e.steps])
    return lines


def sent_lines(outcome: Outcome) -> list[Content]:
    sent = outcome.sent
    if sent is None:
        return [_field("Not sent", outcome.unsent, "$text-warning")] if outcome.unsent else []
    lines = [_field("Sent", outcome.sent_text)]
    if sent.route_known:
        lines.append(_field("Took it", f"route {sent.route or 'none'} (the gateway's access log)"))
    if sent.bucket is not None:
        lines.append(_field("Bucket", f"{sent.bucket} tokens left"))
    ok = bool(outcome.agrees)
    verdict = Content.styled("yes" if ok else "NO", "bold $text-success" if ok else "bold $text-error")
    lines.append(_field("Agrees", Content.assemble(verdict, " — ", redact_text(outcome.why))))
    return lines


class MatchResult(Static):
    """The outcome shown (or a line saying what is going on, or nothing)."""

    DEFAULT_CSS = """
    MatchResult { height: auto; padding: 1 0 0 0; }
    """

    def show(self, outcome: Outcome) -> None:
        self.update(Content("\n").join([*summary_lines(outcome), Content(""), *detail_lines(outcome)]))

    def say(self, text: str, style: str = "$text-muted") -> None:
        self.update(Content.styled(text, style) if text else Content(""))
