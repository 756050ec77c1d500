"""``:proxies [ROUTE]``: does each gateway proxy hold the route as its objects say? Like
``istioctl proxy-status``, for one route: a row per pod (has it / not yet / different / unreachable,
and what it holds), the verdict above, and why some proxies are not asked. ``ctrl+r`` asks again.

The rows come from the connector's ``proxy_status`` (one line per proxy); a connector that does not
ask its proxies (the native one verifies its single Envoy after every change) says so.
"""

from __future__ import annotations

import re
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from connectors.base import Connector, Verification
from connectors.errors import GatewayError

from ..outcomes import error_text
from ..widgets.line_table import Column, LineTable
from .base import ConsoleModal

COLUMNS = (
    Column("POD", "p", ratio=3, min_width=20),
    Column("STATE", "s", width=11),
    Column("WHAT IT HOLDS", "w", ratio=6, min_width=20),
)
_POD_LINE = re.compile(
    r"^proxy (?P<pod>\S+) \((?P<route>.*)\): (?P<state>has it|not yet|different|unreachable)"
)


def split_lines(details: tuple[str, ...]) -> tuple[list[str], list[tuple[str, str, str]]]:
    """(verdict and notes, (pod, state, detail) rows) from a proxy status's lines."""
    notes, rows = [], []
    for line in details:
        found = _POD_LINE.match(line)
        if found is None:
            notes.append(line)
            continue
        detail = line[found.end() :].removeprefix(" — ")
        rows.append((found["pod"], found["state"], detail))
    return notes, rows


class ProxiesScreen(ConsoleModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "refresh", "Ask again", id="proxies.refresh"),
    ]
    DEFAULT_CSS = """
    ProxiesScreen { align: center middle; }
    ProxiesScreen > Vertical {
        width: 120; max-width: 100%; height: 70%; border: thick $primary; background: $surface; padding: 0 1;
    }
    ProxiesScreen #title { text-style: bold; color: $text-primary; }
    ProxiesScreen #verdict { height: auto; padding: 1 0; }
    ProxiesScreen #hint { color: $text-muted; }
    """

    class Asked(Message, bubble=False):
        def __init__(self, status: Verification | None) -> None:
            super().__init__()
            self.status = status

    def __init__(self, connector: Connector | None, route: str | None) -> None:
        super().__init__()
        self.connector = connector
        self.route = route or ""
        self.status: Verification | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.assemble("Proxies of route ", (self.route, "bold $text-accent")), id="title")
            yield Static(Content.styled("Asking the gateway proxies…", "$text-muted"), id="verdict")
            yield LineTable(COLUMNS, empty_text="no proxy asked", id="pods")
            yield Static("ctrl+r ask again · esc close", id="hint")

    @property
    def table(self) -> LineTable:
        return self.query_one("#pods", LineTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        if self.connector is None or not self.route:
            why = (
                "not connected to a gateway" if self.connector is None else "say which route: :proxies ROUTE"
            )
            self.query_one("#verdict", Static).update(Content.styled(why, "$text-warning"))
            return
        self._ask(self.connector, self.route)

    @work(thread=True, exclusive=True, exit_on_error=False, group="proxies", name="proxies")
    def _ask(self, connector: Connector, route: str) -> Asked:
        return self.Asked(connector.proxy_status(route))

    def on_proxies_screen_asked(self, message: Asked) -> None:
        self.status = message.status
        verdict = self.query_one("#verdict", Static)
        if message.status is None:
            verdict.update(
                Content.styled(
                    "This gateway does not ask proxies: its one Envoy is read back after every change "
                    "(describe shows what it serves).",
                    "$text-muted",
                )
            )
            self.table.set_rows([], [])
            return
        notes, rows = split_lines(message.status.details)
        style = "bold $text-success" if message.status.ok else "bold $text-warning"
        verdict.update(Content("\n").join(Content.styled(n, style) for n in notes))
        self.table.set_rows([pod for pod, _, _ in rows], rows)

    def worker_failed(self, name: str, error: BaseException) -> bool:
        if name != "proxies" or not isinstance(error, GatewayError):
            return False
        title, text = error_text(error)
        self.query_one("#verdict", Static).update(Content.styled(f"✖ {title}: {text}", "bold $text-error"))
        return True
