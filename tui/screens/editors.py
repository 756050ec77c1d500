"""The one table of route editors, and the one place a screen opens one.

Every screen that edits a route (routes, detail, policies, triage, the ``e`` chooser) reads
``EDITORS`` for the kinds, their keys and labels, and opens a form through ``open_editor``, which
says why when the kind cannot be edited here. Forms are imported when first opened: the routes view
is on screen before the edit flow is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from ..host import ConsoleHost, console_of

if TYPE_CHECKING:
    from textual.screen import Screen

    from connectors.base import EditKind
    from connectors.model import Route


@dataclass(frozen=True)
class EditorSpec:
    """One editor: what it edits, the key that opens it, its form class, its policies-view row."""

    kind: EditKind
    key: str
    label: str
    form: str  # "module:Class", imported when first opened
    hint: str  # what the form does, for the command palette
    policy: str | None = None  # the policy name the policies view shows for it

    @property
    def title(self) -> str:
        return f"Edit {self.label}"


EDITORS: tuple[EditorSpec, ...] = (
    EditorSpec(
        "weights", "w", "weights", "tui.screens.edit_weights:WeightsEditor", "Shift traffic between backends"
    ),
    EditorSpec(
        "rate_limit",
        "r",
        "rate limit",
        "tui.screens.edit_rate_limit:RateLimitEditor",
        "Requests per interval and burst",
        policy="ratelimit",
    ),
    EditorSpec(
        "cors", "c", "CORS", "tui.screens.edit_cors:CorsEditor", "Origins, methods, headers, probe", "cors"
    ),
    EditorSpec(
        "fault", "f", "fault injection", "tui.screens.edit_fault:FaultEditor", "Delay, abort", "fault"
    ),
)
BY_KIND: dict[str, EditorSpec] = {spec.kind: spec for spec in EDITORS}
BY_POLICY: dict[str, EditorSpec] = {spec.policy: spec for spec in EDITORS if spec.policy}


def edit_bindings(namespace: str, *, show: bool = False) -> list[Binding]:
    """One binding per editor (``w`` ``r`` ``c``), running ``action_edit_kind(kind)``; ids
    ``<namespace>.edit_<kind>`` so they can be remapped."""
    return [
        Binding(
            spec.key, f"edit_kind('{spec.kind}')", spec.title, show=show, id=f"{namespace}.edit_{spec.kind}"
        )
        for spec in EDITORS
    ]


def refusal(host: ConsoleHost, kind: EditKind) -> str | None:
    """Why ``kind`` cannot be edited now, or None."""
    if host.connector is None:
        return "not connected to a gateway"
    capabilities = host.capabilities
    return None if capabilities.can(kind) else capabilities.why_not(kind)


def refusals(host: ConsoleHost) -> dict[EditKind, str | None]:
    return {spec.kind: refusal(host, spec.kind) for spec in EDITORS}


def editor_class(kind: EditKind) -> Any:
    module_name, class_name = BY_KIND[kind].form.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def open_editor(screen: Screen[Any], kind: EditKind, find_route: Callable[[], Route | None]) -> None:
    """Open the form for ``kind`` over ``screen`` on the route ``find_route()`` gives (it says why
    when it gives None), or say why ``kind`` cannot be edited."""
    reason = refusal(console_of(screen.app), kind)
    if reason:
        screen.notify(reason, title=f"Cannot edit {BY_KIND[kind].label}", severity="warning")
        return
    route = find_route()
    if route is not None:
        screen.app.push_screen(editor_class(kind)(route))
