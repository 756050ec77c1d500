"""A route's local rate limit: requests per interval, burst; enforced, shadowed, off or removed.

The form opens in the route's current mode, so a numeric edit of a shadowed limit stays shadowed:
enforcing one is a choice of its own (the mode, or ``e`` in triage), and its diff says so."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from connectors.errors import Problem
from connectors.model import RateLimit, Route, route_problems
from connectors.model.buckets import bucket_note, bucket_problems, follow_rate
from connectors.model.durations import format_duration, parse_duration

from ..widgets.choice import Choice
from ..widgets.form_input import FormInput
from ..widgets.unchanged import update_static
from .edit_base import EditorScreen, FieldError
from .result_lines import with_bucket

BURST_HINT = "bucket size; empty means the same as requests"
MODES = ("on", "shadow", "off", "none")
MODE_LABELS = {
    "on": "Enforced (refuse over the limit)",
    "shadow": "Shadow (count, don't refuse)",
    "off": "Off (kept, not enforced)",
    "none": "No rate limit (remove it)",
}


def mode_of(limit: RateLimit | None) -> str:
    """The form's mode for a route's limit as it is."""
    if limit is None:
        return "none"
    if not limit.enabled:
        return "off"
    return "shadow" if limit.shadow else "on"


class RateLimitEditor(EditorScreen):
    VIEW = "edit rate limit"
    KIND = "rate_limit"
    DEFAULT_CSS = """
    RateLimitEditor Input { width: 20; }
    RateLimitEditor RadioSet { margin: 0 0 1 0; }
    RateLimitEditor .hint-inline { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    RateLimitEditor #bucket { height: auto; padding: 0 0 0 1; color: $text-muted; }
    """
    AUTO_FOCUS = "#requests"  # the number an operator opens this form to change
    loaded_burst = ""  # the burst field as loaded: left so, it follows a higher rate

    def compose_form(self) -> ComposeResult:
        with RadioSet(id="mode"):
            for mode in MODES:
                yield Choice(MODE_LABELS[mode], id=f"mode-{mode}")  # chosen shows without colour
        with Horizontal(classes="row"):
            yield Label("Requests", classes="label")
            yield FormInput(type="integer", id="requests", placeholder="e.g. 100")
            yield Static("tokens added every interval", classes="hint-inline")
        yield FieldError(id="error-requests")
        with Horizontal(classes="row"):
            yield Label("Per", classes="label")
            yield FormInput(id="interval", placeholder="1s")
            yield Static("interval: 250ms, 1s, 1m, 1h", classes="hint-inline")
        yield FieldError(id="error-interval")
        with Horizontal(classes="row"):
            yield Label("Burst", classes="label")
            yield FormInput(type="integer", id="burst", placeholder="= requests")
            yield Static(BURST_HINT, id="burst-hint", classes="hint-inline")
        yield FieldError(id="error-burst")
        yield Static("", id="bucket")

    def load(self, route: Route) -> None:
        limit = route.rate_limit
        self.query_one(f"#mode-{mode_of(limit)}", RadioButton).value = True
        self.query_one("#requests", Input).value = str(limit.requests) if limit else ""
        self.query_one("#interval", Input).value = format_duration(limit.interval) if limit else "1s"
        self.loaded_burst = str(limit.burst) if limit and limit.burst is not None else ""
        self.query_one("#burst", Input).value = self.loaded_burst
        if limit is None:  # the number fields are disabled: the choice of a mode comes first
            self.call_after_refresh(self.query_one("#mode", RadioSet).focus)
        self.query_one("#requests", FormInput).select_all()  # focused first: the next key replaces it

    @property
    def mode(self) -> str:
        pressed = self.query_one("#mode", RadioSet).pressed_button
        return (pressed.id or "mode-on").removeprefix("mode-") if pressed is not None else "on"

    def build(self) -> tuple[Route | None, list[Problem]]:
        mode = self.mode
        for widget_id in ("requests", "interval", "burst"):
            self.query_one(f"#{widget_id}", Input).disabled = mode == "none"
        if mode == "none":
            return replace(self.original, rate_limit=None), []
        problems: list[Problem] = []
        requests_text = self.query_one("#requests", Input).value.strip()
        interval_text = self.query_one("#interval", Input).value.strip()
        burst_text = self.query_one("#burst", Input).value.strip()
        requests = interval = burst = None
        try:
            requests = int(requests_text)
        except ValueError:
            problems.append(Problem("route.rate_limit.requests", "type how many requests (a whole number)"))
        try:
            interval = parse_duration(interval_text)
        except ValueError as exc:
            problems.append(Problem("route.rate_limit.interval", str(exc)))
        if burst_text:
            try:
                burst = int(burst_text)
            except ValueError:
                problems.append(Problem("route.rate_limit.burst", "a whole number, or empty"))
        if problems or requests is None or interval is None:
            return None, problems
        before = self.original.rate_limit
        if burst_text == self.loaded_burst:
            burst = follow_rate(before, requests, burst)  # not touched: it follows a higher rate
        # Off keeps whether the limit was shadowed: switched on again, it is what it was.
        shadow = mode == "shadow" or (mode == "off" and before is not None and before.shadow)
        limit = RateLimit(requests, interval, burst, enabled=mode != "off", shadow=shadow)
        route = replace(self.original, rate_limit=limit)
        found = [p for p in route_problems(route, "route") if ".rate_limit" in p.path]
        return route, found or bucket_problems(before, limit, "route.rate_limit")

    def field_for(self, path: str) -> str:
        for name in ("requests", "interval", "burst"):
            if path.endswith(f"rate_limit.{name}"):
                return f"error-{name}"
        return "error-general"

    def describe(self, route: Route) -> str:
        """``2/s (shadow)``, ``2/s (enforced)``: the mode always said, so enforcing one reads as such."""
        limit = route.rate_limit
        if limit is None:
            return "no rate limit"
        # Either side with a burst of its own: say the bucket on both (a raised burst shows).
        before = self.original.rate_limit
        bursty = limit.burst is not None or (before is not None and before.burst is not None)
        text = with_bucket(limit) if bursty else limit.describe()
        return text + (" (enforced)" if mode_of(limit) == "on" else "")

    def revalidate(self) -> None:
        super().revalidate()
        # The bucket Envoy will run, as the plan will say it (``burst 20 → 50 (raised to the new rate)``).
        limit = self.candidate.rate_limit if self.candidate is not None and not self.problems else None
        note = bucket_note(self.original.name, self.original.rate_limit, limit) if limit else None
        bucket = self.query_one("#bucket", Static)
        update_static(bucket, Content(note.split(": ", 1)[1]) if note else "")
        bucket.display = bool(note)
        self._burst_hint(limit)

    def _burst_hint(self, limit: RateLimit | None) -> None:
        """Beside the burst field: the burst Envoy will run when it is not what the field shows (an
        untouched burst raised to the new rate)."""
        typed = self.query_one("#burst", Input).value.strip()
        effective = limit.bucket_size if limit is not None else None
        raised = effective is not None and typed not in ("", str(effective))
        hint = f"effective burst {effective} (raised to the new rate)" if raised else BURST_HINT
        update_static(self.query_one("#burst-hint", Static), hint)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.revalidate()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.revalidate()
