"""The whole question against a connector, the same for the ``match`` command and the console's
``:match`` view: the gateway's model, the explanation, and — when asked — the request sent through
the gateway's data plane and compared with the prediction. Blocking: the console runs it in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base import Connector
from ..model import Gateway
from ..probe import describe_source
from ..redact import redact_text
from . import Explanation, Request, Sent, agrees, explain, send
from .paths import UNKNOWN, PathHandling


@dataclass(frozen=True)
class Outcome:
    """The explanation; after a send, what was sent, whether it agrees and why."""

    explanation: Explanation
    sent: Sent | None = None
    agrees: bool | None = None
    why: str = ""
    unsent: str = ""  # why nothing was sent although asked (the data plane is out of reach)

    @property
    def sent_text(self) -> str:
        """What came back, in one line: the path sent, the status and who answered, and the
        gateway's own words when it answered itself (Envoy's JWT reason, the rate limiter's...)."""
        if self.sent is None:
            return ""
        answer = self.sent.answer
        status = answer.status if answer.status is not None else "no answer"
        said = f"{status} from {describe_source(answer)}"
        words = answer.body.strip().splitlines()[0] if answer.body.strip() else ""
        if answer.answered_by in ("jwt", "rate-limit", "deny") and words:
            said += f": {words}"
        elif not answer.explanation.startswith(said) and answer.answered_by != "jwt":
            said += f" — {answer.explanation}"
        return redact_text(f"{self.sent.path} → {said}")

    @property
    def ok(self) -> bool:
        """False only when a send disagreed with the prediction (or got no answer)."""
        return self.agrees is not False

    def to_json(self) -> dict[str, Any]:
        data = self.explanation.to_json()
        if self.sent is not None:
            answer = self.sent.answer
            data["sent"] = {
                "path": self.sent.path,
                "status": answer.status,
                "answered_by": answer.answered_by,
                "backend": answer.backend,
                "route": self.sent.route,
                "route_known": self.sent.route_known,
                "explanation": answer.explanation,
                "headers": answer.headers,
                "agrees": self.agrees,
                "why": self.why,
            }
        elif self.unsent:
            data["unsent"] = self.unsent
        return data


def model_of(conn: Connector) -> Gateway:
    """The gateway's whole model (listeners too) when the connector has one, else its routes."""
    whole = getattr(conn, "gateway", None)
    if callable(whole):
        model = whole()
        if isinstance(model, Gateway):
            return model
    return Gateway(conn.info().name, tuple(conn.list_routes()))


def base_url(conn: Connector, model: Gateway, explanation: Explanation) -> str | None:
    """Where to send the request: the listener the routing chose, else the route's traffic URL."""
    listener = explanation.routing.listener
    url_of = getattr(conn, "listener_url", None)
    if listener is not None and callable(url_of):
        return str(url_of(listener.name))
    route = explanation.routing.route or (model.routes[0] if model.routes else None)
    place = conn.traffic_url(route) if route is not None else None
    return place[0] if place else None


def path_handling(conn: Connector, model: Gateway, request: Request) -> PathHandling:
    """How the listener the request reaches treats paths: the native gateway reads its served
    listener; elsewhere (Istio, Envoy Gateway) it is the platform's setting, not known here."""
    of = getattr(conn, "path_handling", None)
    if not callable(of):
        return UNKNOWN
    listener = next((x.name for x in model.listeners if x.port == request.port), None)
    found = of(listener)
    return found if isinstance(found, PathHandling) else UNKNOWN


def answer(conn: Connector, request: Request, *, send_it: bool) -> Outcome:
    """Explain ``request`` on the gateway behind ``conn``; with ``send_it``, send it and compare."""
    model = model_of(conn)
    paths = path_handling(conn, model, request)
    explanation = explain(model, request, paths=paths)
    if not send_it:
        return Outcome(explanation)
    base = base_url(conn, model, explanation)
    if base is None:
        return Outcome(explanation, unsent="this machine cannot reach the gateway's data plane; nothing sent")
    log = conn.metrics_hooks().access_log_path if model.access_log else None
    sent = send(base, request, access_log=log)
    ok, why = agrees(explanation, sent)
    # After a send the rate-limit step can say the bucket's level (x-ratelimit-remaining).
    return Outcome(explain(model, request, bucket=sent.bucket, paths=paths), sent, ok, why)
