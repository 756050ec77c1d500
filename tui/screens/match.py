"""``:match`` — what happens to this request? Method, host, path and headers (one per line), or a
pasted curl command; ``ctrl+s`` answers offline from the gateway's model — the route that takes it
and why the others did not, the backends with their shares, the policies in order — exactly as the
``match`` command does (``connectors.match.outcome``); ``ctrl+g`` then sends it through the gateway
and says who answered, which route took it and whether that agrees with the prediction.

``m`` on the routes view and a route's detail view opens it filled in for that route (its host, a
path its match accepts). Bad input is one line naming the field; nothing is sent. Any change to the
form clears the answer shown, and an answer that comes back for an older form is dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Static, TextArea

from connectors.base import Connector
from connectors.errors import ValidationError
from connectors.match import Request, build, from_curl
from connectors.match.outcome import Outcome, answer
from connectors.match.request import parse_header
from connectors.match.sample import sample

from ..outcomes import error_text
from ..widgets.key_hints import KeyHints
from ..widgets.match_result import MatchResult
from .base import ConsoleScreen

FIELDS = ("method", "host", "path", "headers")  # not used while a curl command is there


class MatchScreen(ConsoleScreen):
    VIEW = "match"
    DEFAULT_CSS = """
    MatchScreen #body { padding: 0 1; }
    MatchScreen .title { text-style: bold; color: $text-primary; margin: 1 0 0 0; }
    MatchScreen .hint { color: $text-muted; }
    MatchScreen #for { margin: 0 0 1 0; }
    MatchScreen .row { height: auto; margin: 0 0 1 0; }
    MatchScreen .label { width: 10; text-style: bold; }
    MatchScreen #method { width: 10; margin: 0 2 0 0; }
    MatchScreen #host-label { width: 6; }
    MatchScreen #token-label { width: 7; margin: 0 0 0 2; }
    MatchScreen #token { width: 30; }
    MatchScreen #host { width: 1fr; }
    MatchScreen #path { width: 1fr; }
    MatchScreen #curl { width: 1fr; }
    MatchScreen #headers { height: 3; width: 1fr; }
    MatchScreen #headers-row { margin: 0; }
    MatchScreen #problem { color: $text-error; height: auto; }
    MatchScreen #buttons { height: auto; }
    MatchScreen #buttons Button { margin: 0 2 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="match.close"),
        Binding("ctrl+s", "explain", "Match", id="match.explain"),
        Binding("ctrl+g", "send", "Send", id="match.send"),
        Binding("f1", "app.help", "Help", show=False, id="match.help"),
    ]

    class Answered(Message, bubble=False):
        """The outcome for the form as it was at ``generation``."""

        def __init__(self, outcome: Outcome, generation: int) -> None:
            super().__init__()
            self.outcome, self.generation = outcome, generation

    def __init__(self, connector: Connector | None = None, route: str | None = None) -> None:
        super().__init__()
        self.connector = connector
        self.route_name = route
        self.generation = 0  # bumped by every change to the form: older answers are dropped
        self.outcome: Outcome | None = None
        self.busy = False
        self._opened_with: dict[str, str] = {}
        self.ready = False  # the form is composed and filled in

    def compose(self) -> ComposeResult:
        yield from self.chrome()
        with VerticalScroll(id="body"):
            yield Static("What happens to this request?", classes="title")
            yield Static(
                "Answered from the gateway's model (ctrl+s), then sent through it (ctrl+g).",
                classes="hint",
                id="for",
            )
            with Horizontal(classes="row"):
                yield Static("Method", classes="label")
                yield Input("GET", id="method", placeholder="GET", compact=True, select_on_focus=False)
                yield Static("Host", classes="label", id="host-label")
                yield Input(id="host", placeholder="api.example.com", compact=True, select_on_focus=False)
            with Horizontal(classes="row"):
                yield Static("Path", classes="label")
                yield Input("/", id="path", placeholder="/path?query", compact=True, select_on_focus=False)
                yield Static("Token", classes="label", id="token-label")
                yield Input(
                    id="token",
                    placeholder="bearer token, never shown",
                    password=True,
                    compact=True,
                    select_on_focus=False,
                )
            with Horizontal(classes="row", id="headers-row"):
                yield Static("Headers", classes="label")
                yield TextArea(id="headers", soft_wrap=True, show_line_numbers=False, compact=True)
            yield Static("          one per line, name: value", classes="hint row")
            with Horizontal(classes="row"):
                yield Static("or curl", classes="label")
                yield Input(
                    id="curl",
                    placeholder="paste a curl command: its -X, -H and URL are used",
                    compact=True,
                    select_on_focus=False,
                )
            yield Static("", id="problem")
            with Horizontal(id="buttons"):
                yield Button("Match (ctrl+s)", id="explain", variant="primary", compact=True)
                yield Button("Send (ctrl+g)", id="send", variant="warning", compact=True)
            yield MatchResult(id="result")
        yield KeyHints()

    def on_mount(self) -> None:
        route = next((r for r in self.console.routes if r.name == self.route_name), None)
        if route is not None:
            s = sample(route)
            for name, value in (("method", s.method), ("host", s.host), ("path", s.path)):
                field = self.query_one(f"#{name}", Input)
                field.value = value
                field.cursor_position = len(value)  # typing adds to it, as after a click at its end
            self.query_one("#headers", TextArea).text = "\n".join(s.headers)
            self.query_one("#for", Static).update(
                Content(
                    f"Filled in with a request route {route.name} takes. ctrl+s: match it; ctrl+g: send it."
                )
            )
        elif self.route_name:  # said where a change to the form does not wipe it
            self.query_one("#for", Static).update(
                Content.styled(
                    f"✖ route: no route named {self.route_name!r}; type the request", "$text-error"
                )
            )
        self._opened_with = self.values()
        self.query_one("#path" if route is not None else "#host", Input).focus()
        self.ready = True

    def focus_body(self) -> None:
        self.query_one("#host", Input).focus()

    def selected_route(self) -> str | None:
        return self.route_name

    # -- the form -------------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        out = {f: self.query_one(f"#{f}", Input).value for f in ("method", "host", "path", "curl", "token")}
        out["headers"] = self.query_one("#headers", TextArea).text
        return out

    def request(self) -> Request:
        """The request the form describes; a ValidationError naming the field when it is bad."""
        v = self.values()
        token = v["token"].strip()
        bearer = f"authorization: Bearer {token}"
        if v["curl"].strip():
            request = from_curl(v["curl"].strip())
            return replace(request, headers=(*request.headers, parse_header(bearer))) if token else request
        headers = [line for line in v["headers"].splitlines() if line.strip()]
        return build(
            host=v["host"].strip() or None,
            path=v["path"].strip() or "/",
            method=v["method"].strip() or "GET",
            headers=[*headers, bearer] if token else headers,
        )

    def _changed(self) -> None:
        """Nothing stale: a change to any field drops the answer shown and any answer on its way."""
        self.generation += 1
        self.outcome = None
        self.busy = False
        self.query_one("#problem", Static).update("")
        self.query_one(MatchResult).say("")
        using_curl = bool(self.query_one("#curl", Input).value.strip())
        for name in FIELDS:
            self.query_one(f"#{name}").disabled = using_curl

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_explain()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        elif event.button.id == "explain":
            self.action_explain()

    # -- asking ---------------------------------------------------------------------------------

    def action_explain(self) -> None:
        self._ask(send_it=False)

    def action_send(self) -> None:
        self._ask(send_it=True)

    def _ask(self, *, send_it: bool) -> None:
        problem = self.query_one("#problem", Static)
        connector = self.connector or self.console.connector
        try:
            request = self.request()
        except ValidationError as exc:  # one line naming the field; nothing is sent
            problem.update(Content("✖ " + "; ".join(str(p) for p in exc.problems)))
            return
        if connector is None:
            problem.update(Content("✖ not connected to a gateway"))
            return
        if self.busy:
            return
        problem.update("")
        self.busy = True
        doing = "Sending it through the gateway…" if send_it else "Working it out from the gateway's model…"
        self.query_one(MatchResult).say(doing)
        self._answer(connector, request, send_it, self.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="match", name="match")
    def _answer(self, connector: Connector, request: Request, send_it: bool, generation: int) -> Answered:
        return self.Answered(answer(connector, request, send_it=send_it), generation)

    def on_match_screen_answered(self, message: Answered) -> None:
        if message.generation != self.generation:
            return  # the form changed since it was asked: this answer is for another request
        self.busy = False
        self.outcome = message.outcome
        result = self.query_one(MatchResult)
        result.show(message.outcome)
        result.scroll_visible(animate=False, top=True)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        self.busy = False
        title, text = error_text(error)
        self.query_one(MatchResult).say(f"✖ {title}: {text}", "$text-error")
        return True

    # -- leaving --------------------------------------------------------------------------------

    @property
    def typed(self) -> bool:
        """The operator typed something since the form opened (leaving would lose it)."""
        return bool(self._opened_with) and self.values() != self._opened_with

    def quit_cost(self) -> str | None:
        return "the request typed in the request tester is lost" if self.typed else None

    def action_close(self) -> None:
        """Back; a form typed in asks first, as the edit forms do."""
        if not self.typed:
            self.app.pop_screen()
            return
        from .confirm import ConfirmScreen

        def answered(leave: bool | None) -> None:
            if leave:
                self.app.pop_screen()

        question = ConfirmScreen(
            "Leave the request tester?", ["the request you typed here is lost"], yes="Leave", no="Stay"
        )
        self.app.push_screen(question, answered)

    def action_back(self) -> None:
        self.action_close()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (
                "Match the request",
                "Which route takes it, and what happens to it (ctrl+s)",
                self.action_explain,
            ),
            (
                "Send the request",
                "Through the gateway, compared with the prediction (ctrl+g)",
                self.action_send,
            ),
        ]
