"""Stable and canary side by side: declared weight, the split observed since the step began (and
over how many requests), req/s, errors and p99 of each."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from connectors.canary import BackendView, pick_backends
from connectors.model import Route

from .unchanged import update_static

# The (stable, canary) roles the canary view last showed per route, for the session: at equal
# weights the heaviest backend says nothing, so reopening keeps the roles instead of swapping.
_ROLES: WeakKeyDictionary[object, dict[tuple[int, str], tuple[str, str]]] = WeakKeyDictionary()


def keep_roles(app: object, key: tuple[int, str], pair: tuple[str, str]) -> None:
    _ROLES.setdefault(app, {})[key] = pair


def pick_roles(route: Route, kept: tuple[str, str] | None) -> tuple[str, str] | None:
    """The natural pair (the heaviest stable), except on a tie between the kept roles' backends:
    then the roles as they were (a tie is no reason to swap stable and canary)."""
    pair = pick_backends(route)
    if pair is None or kept is None:
        return pair
    share = route.weight_share()
    if set(kept) <= set(share) and share[kept[0]] == share[kept[1]] == share[pair[0]]:
        return kept
    return pair


def kept_roles(app: object, key: tuple[int, str]) -> tuple[str, str] | None:
    return _ROLES.get(app, {}).get(key)


def side_text(role: str, view: BackendView) -> Content:
    observed = f"{view.observed_pct:5.1f}%" if view.observed_pct is not None else "    —"
    if view.requests is not None:
        observed += f"  ({view.requests:,} requests this step)"
    # req/s, errors and p99 are over the metrics' last few seconds (the gate line's over the step):
    # without a request in that window there is no p99 to show, only an older one.
    p99 = f"{view.p99_ms:.1f} ms" if view.p99_ms is not None and view.rps else "—"
    rps = f"{view.rps:7.1f}" if view.rps is not None else "      —"
    errors = f"{view.error_pct:4.1f}%" if view.error_pct is not None else "   —"
    error_style = "bold $text-error" if view.error_pct else ""
    return Content.assemble(
        (f"{role.upper()}  {view.backend}\n", "bold"),
        f"declared  {view.declared_pct:5.1f}%\n",
        f"observed  {observed}\n",
        f"req/s now {rps}\n",
        ("errors now ", ""),
        (f"{errors}\n", error_style),
        f"p99 now   {p99}",
    )


class CanarySides(Horizontal):
    DEFAULT_CSS = """
    CanarySides { height: 8; margin: 1 0 0 0; }
    CanarySides .side { width: 1fr; border: round $panel; padding: 0 1; }
    CanarySides #side-canary { border: round $weight-b; }
    CanarySides #side-stable { border: round $weight-a; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="side-stable", classes="side")
        yield Static("", id="side-canary", classes="side")

    def show(self, stable: BackendView, canary: BackendView) -> None:
        update_static(self.query_one("#side-stable", Static), side_text("stable", stable))
        update_static(self.query_one("#side-canary", Static), side_text("canary", canary))
