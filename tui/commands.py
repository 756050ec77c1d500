"""The ``:`` prompt's commands and the command palette's entries (ctrl+p), in one table.

``:routes`` ``:policies`` ``:gateways`` ``:history`` ``:ctx`` jump to a view (k9s aliases work:
``:rt``, ``:pol``, ``:gw``, ``:hist``, ``:context``); ``:theme NAME``, ``:undo``, ``:refresh``,
``:help``, ``:triage``, ``:canary ROUTE``, ``:charts [ROUTE]``, ``:proxies [ROUTE]``,
``:match [ROUTE]``. A jump starts
from the view: what was opened over it is closed first (``ConsoleApp.leave_then``). ``:q`` and
``:quit`` quit, as in k9s (``esc`` goes back); both ask first when quitting would lose an edit, stop
a canary or stop the demo, ``:q!`` does not ask.
Screens add their own palette entries (edit the selected route, ...) with ``palette_commands()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.app import App, SystemCommand
from textual.screen import Screen

from .host import console_of
from .themes import THEME_ORDER

VIEWS = {
    "routes": "routes",
    "route": "routes",
    "rt": "routes",
    "policies": "policies",
    "policy": "policies",
    "pol": "policies",
    "gateways": "connect",
    "gateway": "connect",
    "gw": "connect",
    "ctx": "connect",
    "context": "connect",
    "contexts": "connect",
    "connect": "connect",
    "history": "history",
    "hist": "history",
}

# Every word the prompt completes.
COMPLETIONS = sorted(
    {
        *VIEWS,
        *(f"theme {t}" for t in THEME_ORDER),
        "undo",
        "refresh",
        "help",
        "triage",
        "health",
        "timeboxes",
        "match",
        "canary ",
        "charts",
        "proxies ",
        "quit",
        "q",
    }
)


def selected_route(app: App[Any]) -> str | None:
    """The route the current screen is about (its cursor row or its subject), if any."""
    getter = getattr(app.screen, "selected_route", None)
    value = getter() if callable(getter) else None
    return value if isinstance(value, str) else None


def run(app: App[Any], text: str) -> None:
    word, _, arg = text.strip().partition(" ")
    word, arg = word.lower(), arg.strip()
    if not word:
        return
    if word in VIEWS:
        console_of(app).show_view(VIEWS[word])
        if VIEWS[word] == "connect":
            focus = getattr(app.screen, "focus_section", None)
            if callable(focus):
                focus("kube" if word.startswith(("ctx", "context")) else "native")
    elif word == "theme":
        if arg in app.available_themes:
            app.theme = arg
        else:
            app.notify(f"Themes: {', '.join(THEME_ORDER)}", title=f"Unknown theme {arg!r}", severity="error")
    elif word in ("undo", "refresh", "help"):
        getattr(app.screen, f"action_{word}", getattr(app, f"action_{word}", _missing(app, word)))()
    elif word in ("triage", "canary", "charts", "proxies", "health", "timeboxes", "match"):
        _open_optional(app, word, arg)
    elif word == "back":
        if len(app.screen_stack) > 1:
            app.pop_screen()
    elif word in ("q", "quit", "exit", "qa"):  # k9s: :q quits (esc goes back)
        console_of(app).request_quit()
    elif word in ("q!", "quit!"):
        app.exit()  # as in vim and k9s: no questions
    else:
        app.notify(
            "Try :routes, :policies, :gateways, :history, :ctx, :theme NAME, :canary ROUTE, :triage, :q",
            title=f"Unknown command {word!r}",
            severity="error",
        )


def _open_optional(app: App[Any], word: str, arg: str) -> None:
    console = console_of(app)
    if word in ("triage", "health", "timeboxes"):
        console.open_optional(word, console.connector)
    elif word == "match":  # a route given: the form is filled in with a request it takes
        console.open_optional("match", console.connector, arg or None)
    elif word == "proxies":  # says itself when no route is given or selected
        console.open_optional("proxies", console.connector, arg or selected_route(app))
    elif word == "canary":
        route = arg or selected_route(app)
        if not route:
            app.notify("Say which route: :canary ROUTE", title="Canary", severity="warning")
        else:
            console.open_optional("canary", console.connector, route)
    else:
        console.open_optional("charts", console.connector, arg or selected_route(app))


def _missing(app: App[Any], word: str) -> Callable[[], None]:
    def explain() -> None:
        app.notify(f"{word} is not available on this view", severity="warning")

    return explain


def palette(app: App[Any], screen: Screen[Any]) -> Iterable[SystemCommand]:
    """Entries for Textual's command palette: views, gateway actions, themes, optional views."""
    console = console_of(app)
    yield SystemCommand("Routes", "Go to the routes view (:routes)", lambda: console.show_view("routes"))
    yield SystemCommand(
        "Policies", "Every policy on every route (:policies)", lambda: console.show_view("policies")
    )
    yield SystemCommand(
        "History", "Applied changes, newest first (:history)", lambda: console.show_view("history")
    )
    yield SystemCommand(
        "Gateways", "Connect to another gateway (:gateways, :ctx)", lambda: run(app, "gateways")
    )
    yield SystemCommand("Refresh", "Re-read routes and live figures now (ctrl+r)", console.refresh_now)
    own = getattr(screen, "palette_commands", None)
    if callable(own):
        for title, help_text, callback in own():
            yield SystemCommand(title, help_text, callback)
    for name in THEME_ORDER:
        yield SystemCommand(
            f"Theme: {name}", f"Switch to the {name} theme (ctrl+t cycles)", _set_theme(app, name)
        )
    route = selected_route(app)
    yield SystemCommand("Triage", "Which routes need attention (:triage)", lambda: run(app, "triage"))
    if route:
        yield SystemCommand(
            f"Canary {route}",
            "Step traffic to the new backend while watching errors",
            lambda: run(app, f"canary {route}"),
        )
    yield SystemCommand("Charts", "Traffic charts (:charts)", lambda: run(app, "charts"))
    yield SystemCommand(
        "What happens to a request?",
        "Which route takes it, its policies; send it and compare (:match)",
        lambda: run(app, "match"),
    )
    yield SystemCommand("Help", "Keys of this view (?)", lambda: run(app, "help"))


def _set_theme(app: App[Any], name: str) -> Callable[[], None]:
    def set_theme() -> None:
        app.theme = name

    return set_theme
