"""A route's CORS policy, and a probe that sends a real preflight and request with a chosen Origin."""

from __future__ import annotations

import re
from dataclasses import replace

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Label, Static, Switch, TextArea

from connectors.base import ApplyResult, Connector
from connectors.errors import Problem
from connectors.model import Cors, Route, StringMatch, cors_problems
from connectors.model.durations import format_duration, parse_duration
from connectors.probe import ProbeResult, describe_source, probe_cors

from ..widgets.choice import Toggle
from ..widgets.form_input import FormInput
from .edit_base import EditorScreen, FieldError

_ORIGIN_INDEX = re.compile(r"allow_origins\[(\d+)\]")


def parse_origin(line: str) -> StringMatch:
    """``exact:``/``prefix:``/``regex:`` prefixes, or the model's short forms: ``~regex``, ``prefix*``."""
    for kind in ("exact", "prefix", "regex"):
        if line.startswith(kind + ":"):
            return StringMatch(kind, line[len(kind) + 1 :].strip())
    if line.startswith("~"):
        return StringMatch("regex", line[1:])
    if line.endswith("*") and line != "*":
        return StringMatch("prefix", line[:-1])
    return StringMatch("exact", line)


def split_list(text: str, upper: bool = False) -> tuple[str, ...]:
    items = [item.strip() for item in text.replace(" ", ",").split(",")]
    return tuple(item.upper() if upper else item for item in items if item)


def render_probe(result: ProbeResult) -> Content:
    lines: list[Content] = [
        Content.styled(result.verdict, "bold $text-success" if result.browser_allows else "bold $text-error")
    ]
    for answer in (result.preflight, result.request):
        status = str(answer.status) if answer.status is not None else "no answer"
        lines.append(
            Content.assemble(
                Content.styled(f"{answer.step:<9} {answer.method:<7} {status:<9}", "bold"),
                Content.styled(f"answered by {describe_source(answer)}", "$text-accent"),
            )
        )
        lines.append(Content.styled(f"          {answer.explanation}", "$text-muted"))
        for name, value in answer.headers.items():
            if name.startswith("access-control") or name in ("x-backend", "www-authenticate", "vary"):
                lines.append(Content(f"          {name}: {value}"))
    return Content("\n").join(lines)


class CorsEditor(EditorScreen):
    VIEW = "edit CORS"
    KIND = "cors"

    class TrafficUrl(Message, bubble=False):
        """Where clients reach the route (base URL, Host header), or None when the gateway cannot say."""

        def __init__(self, where: tuple[str, str] | None) -> None:
            super().__init__()
            self.where = where

    class Probed(Message, bubble=False):
        """What the gateway answered to the probe's preflight and request."""

        def __init__(self, result: ProbeResult) -> None:
            super().__init__()
            self.result = result

    DEFAULT_CSS = """
    CorsEditor TextArea { height: 5; width: 1fr; }
    CorsEditor Input { width: 1fr; }
    CorsEditor #max_age { width: 16; }
    CorsEditor .probe-title { text-style: bold; color: $text-primary; margin: 1 0 0 0; }
    CorsEditor #probe-method { width: 12; }
    CorsEditor #probe-path { width: 16; }
    CorsEditor #probe-token { width: 26; }
    CorsEditor #probe-host { width: 24; }
    CorsEditor #probe-result { height: auto; padding: 0 0 0 1; }
    """

    def compose_form(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("CORS policy", classes="label")
            yield Toggle(id="enabled")  # on/off readable without colour
            yield Static("off removes the policy from the route", classes="hint")
        with Horizontal(classes="row"):
            yield Label("Origins", classes="label")
            yield TextArea(id="origins", soft_wrap=False, tab_behavior="focus")
        yield Static(
            "one per line: https://app.example.com (exact) · https://* (prefix) · "
            "~https://.*\\.example\\.com (regex)",
            classes="hint",
        )
        yield FieldError(id="error-origins")
        for field_id, label, hint in (
            ("methods", "Methods", "GET, POST, PUT"),
            ("headers", "Allow headers", "content-type, authorization"),
            ("expose", "Expose headers", "x-request-id"),
        ):
            with Horizontal(classes="row"):
                yield Label(label, classes="label")
                yield FormInput(id=field_id, placeholder=hint)
            yield FieldError(id=f"error-{field_id}")
        with Horizontal(classes="row"):
            yield Label("Max age", classes="label")
            yield FormInput(id="max_age", placeholder="e.g. 10m")
            yield Label("Credentials", classes="label")
            yield Toggle(id="credentials")
        yield FieldError(id="error-max_age")
        yield FieldError(id="error-credentials")
        yield Static(
            "Probe  (the gateway as it runs now: apply first to test an edit)", classes="probe-title"
        )
        with Horizontal(classes="row"):
            yield Input(id="probe-origin", placeholder="Origin, e.g. https://app.example.com")
            yield Input("GET", id="probe-method")
            yield Input(self._default_path(), id="probe-path")
        with Horizontal(classes="row"):
            yield Input(id="probe-url", placeholder="http://host:port of the gateway")
            yield Input(id="probe-host", placeholder="Host header")
            yield Input(id="probe-token", placeholder="bearer token (optional)", password=True)
            yield Button("Probe", id="probe", compact=True)
        yield Static("", id="probe-result")

    def _default_host(self) -> str:
        """A Host header the route matches: its first host, with a wildcard filled in."""
        host = self.original.hosts[0] if self.original.hosts else "*"
        return "probe.local" if host == "*" else host.replace("*", "probe")

    def _default_path(self) -> str:
        match = self.original.matches[0].path if self.original.matches else None
        if match is not None and match.kind in ("exact", "prefix") and match.value.startswith("/"):
            return match.value
        return "/"

    def load(self, route: Route) -> None:
        cors = route.cors
        self.query_one("#enabled", Switch).value = cors is not None
        cors = cors or Cors()
        box = self.query_one("#origins", TextArea)
        box.text = "\n".join(str(o) for o in cors.allow_origins)
        box.move_cursor(box.document.end)  # typing adds to the list, never prepends
        self.query_one("#methods", Input).value = ", ".join(cors.allow_methods)
        self.query_one("#headers", Input).value = ", ".join(cors.allow_headers)
        self.query_one("#expose", Input).value = ", ".join(cors.expose_headers)
        self.query_one("#max_age", Input).value = (
            format_duration(cors.max_age) if cors.max_age is not None else ""
        )
        self.query_one("#credentials", Switch).value = cors.allow_credentials
        origins = [o.value for o in cors.allow_origins if o.kind == "exact" and o.value != "*"]
        probe_origin = self.query_one("#probe-origin", Input)
        if origins and not probe_origin.value:
            probe_origin.value = origins[0]

    def build(self) -> tuple[Route | None, list[Problem]]:
        enabled = self.query_one("#enabled", Switch).value
        for widget in self.query("#origins, #methods, #headers, #expose, #max_age, #credentials"):
            widget.disabled = not enabled
        if not enabled:
            return replace(self.original, cors=None), []
        problems: list[Problem] = []
        lines = [line.strip() for line in self.query_one("#origins", TextArea).text.splitlines()]
        origins = tuple(parse_origin(line) for line in lines if line)
        max_age_text = self.query_one("#max_age", Input).value.strip()
        max_age = None
        if max_age_text:
            try:
                max_age = parse_duration(max_age_text)
            except ValueError as exc:
                problems.append(Problem("route.cors.max_age", str(exc)))
        cors = Cors(
            allow_origins=origins,
            allow_methods=split_list(self.query_one("#methods", Input).value, upper=True),
            allow_headers=split_list(self.query_one("#headers", Input).value),
            expose_headers=split_list(self.query_one("#expose", Input).value),
            max_age=max_age,
            allow_credentials=self.query_one("#credentials", Switch).value,
        )
        problems += cors_problems(cors, "route.cors")
        if problems:
            return None, problems
        return replace(self.original, cors=cors), []

    def field_for(self, path: str) -> str:
        match = _ORIGIN_INDEX.search(path)
        if match or path.endswith("allow_origins"):
            return "error-origins"
        for suffix, field_id in (
            ("allow_methods", "methods"),
            ("allow_headers", "headers"),
            ("expose_headers", "expose"),
            ("max_age", "max_age"),
            ("allow_credentials", "credentials"),
        ):
            if path.endswith(suffix):
                return f"error-{field_id}"
        return "error-general"

    def revalidate(self) -> None:
        super().revalidate()
        # Name the offending line, since the model's problem paths count origins from 0.
        messages = []
        for problem in self.problems:
            match = _ORIGIN_INDEX.search(problem.path)
            if match:
                messages.append(f"line {int(match.group(1)) + 1}: {problem.message}")
            elif problem.path.endswith("allow_origins"):
                messages.append(problem.message)
        self.query_one("#error-origins", FieldError).show(messages)

    def describe(self, route: Route) -> str:
        if route.cors is None:
            return "no CORS policy"
        return f"{len(route.cors.allow_origins)} origin(s): " + ", ".join(
            str(o) for o in route.cors.allow_origins
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        if not (event.input.id or "").startswith("probe"):
            self.revalidate()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.revalidate()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self.revalidate()

    # -- the probe --------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "probe":
            self.action_probe()
        else:
            super().on_button_pressed(event)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if (event.input.id or "").startswith("probe"):
            self.action_probe()

    def on_mount(self) -> None:
        super().on_mount()
        self._probed: tuple[Cors | None] | None = None  # the served policy the shown result is about
        self.watch(self.app, "routes", self._routes_changed, init=False)
        connector, route = self.console.connector, self.original
        if connector is not None:
            # Where clients reach the route, when the connector knows; the operator can type it.
            self._find_traffic_url(connector, route)

    @work(thread=True, exit_on_error=False, group="probe", name="traffic-url", description="traffic-url")
    def _find_traffic_url(self, connector: Connector, route: Route) -> TrafficUrl:
        return self.TrafficUrl(connector.traffic_url(route))

    def action_probe(self) -> None:
        connector = self.console.connector
        origin = self.query_one("#probe-origin", Input).value.strip()
        if connector is None:
            self.notify("Not connected to a gateway.", severity="error")
            return
        if not origin:
            self.notify("Type the Origin to probe with, e.g. https://app.example.com", severity="warning")
            return
        method = self.query_one("#probe-method", Input).value.strip() or "GET"
        path = self.query_one("#probe-path", Input).value.strip() or "/"
        token = self.query_one("#probe-token", Input).value.strip()
        # Like a browser: credentials only on the real request, never on the preflight.
        extra = {"authorization": f"Bearer {token}"} if token else None
        base_url = self.query_one("#probe-url", Input).value.strip()
        host = self.query_one("#probe-host", Input).value.strip() or self._default_host()
        if not base_url.startswith(("http://", "https://")):
            self.notify(
                "Type where the gateway listens, e.g. http://127.0.0.1:10000",
                title="Gateway URL",
                severity="warning",
            )
            return
        self.query_one("#probe-result", Static).update(
            Content.styled(f"probing {base_url} (Host {host}) with Origin {origin}…", "$text-muted")
        )

        self._probe(base_url, host, origin, path, method, extra)

    @work(thread=True, exclusive=True, exit_on_error=False, group="probe", name="probe", description="probe")
    def _probe(
        self, base_url: str, host: str, origin: str, path: str, method: str, extra: dict[str, str] | None
    ) -> Probed:
        result = probe_cors(base_url, host, origin, path=path, method=method, extra_headers=extra)
        return self.Probed(result)

    def on_cors_editor_probed(self, message: Probed) -> None:
        self.query_one("#probe-result", Static).update(render_probe(message.result))
        self._probed = (self._served_cors(),)

    def _served_cors(self) -> Cors | None:
        route = next((r for r in self.console.routes if r.name == self.original.name), self.original)
        return route.cors

    def _routes_changed(self, _routes: object) -> None:
        """Someone (this form, the CLI, a colleague) changed the route's CORS since the probe: its
        result is about a policy the gateway no longer serves."""
        if self._probed is not None and self._probed != (self._served_cors(),):
            self._probe_outdated()

    def _probe_outdated(self) -> None:
        self._probed = None
        self.query_one("#probe-result", Static).update(
            Content.styled(
                "The policy changed: probe again to test what the gateway serves now.", "$text-muted"
            )
        )

    def on_cors_editor_traffic_url(self, message: TrafficUrl) -> None:
        if message.where is None:
            info = self.console.info
            listeners = info.details.get("listeners", "") if info is not None else ""
            hint = f" (its listeners: {listeners})" if listeners else ""
            self.query_one("#probe-result", Static).update(
                Content.styled(
                    f"This gateway does not say where clients reach it: type its URL{hint}.",
                    "$text-muted",
                )
            )
            return
        base_url, host = message.where
        url_input, host_input = self.query_one("#probe-url", Input), self.query_one("#probe-host", Input)
        url_input.value = url_input.value or base_url
        host_input.value = host_input.value or host

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name in ("probe", "traffic-url"):
            self.query_one("#probe-result", Static).update(
                Content.styled(f"probe failed: {error}", "$text-error")
            )
            return False
        return super().worker_failed(name, error)

    def after_apply(self, result: ApplyResult) -> None:
        """Stay open on the applied policy, so the operator can probe it right away."""
        self.original = result.plan.changes[0].after if result.plan.changes else self.original
        self.revalidate()
        # A result from before the apply is about a policy the gateway no longer serves.
        self.query_one("#probe-result", Static).update(
            Content.styled(
                "The policy changed: probe again to test what the gateway serves now.", "$text-muted"
            )
        )
        self.notify("Applied. Probe it now, or esc to close.", title="CORS policy applied", timeout=5)
