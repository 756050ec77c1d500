"""The ``:`` prompt's commands, in one table (``COMMANDS``), and the command palette's entries (ctrl+p).

Every ``:`` command is one ``Command`` row: the words that run it (k9s aliases too: ``:rt``, ``:pol``,
``:gw``, ``:hist``, ``:context``), how help shows it, its line in help, and what it does. The prompt's
completions, help's command list and the "unknown command" hint are all read from that table, so a
command added there is runnable, completed and listed at once. A jump starts from the view: what was
opened over it is closed first (``ConsoleApp.leave_then``). ``:q`` quits, as in k9s (``esc`` goes
back), asking first when quitting would lose an edit, stop a canary or stop the demo; ``:q!`` does not
ask. Screens add their own palette entries (edit the selected route, ...) with ``palette_commands()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from textual.app import App, SystemCommand
from textual.screen import Screen

from .host import console_of
from .themes import THEME_ORDER

Runner = Callable[[App[Any], str, str], None]
"""What a command does: ``run(app, word as typed, the rest of the line)``."""


@dataclass(frozen=True)
class Command:
    """One ``:`` command: ``names`` run it (the first is its name), help shows ``usage`` and ``help``
    ("" keeps it out of help), the prompt completes ``completes`` (default: every name)."""

    names: tuple[str, ...]
    usage: str
    help: str
    run: Runner
    completes: tuple[str, ...] | None = None

    @property
    def completions(self) -> tuple[str, ...]:
        return self.names if self.completes is None else self.completes


def selected_route(app: App[Any]) -> str | None:
    """The route the current screen is about (its cursor row or its subject), if any."""
    getter = getattr(app.screen, "selected_route", None)
    value = getter() if callable(getter) else None
    return value if isinstance(value, str) else None


def _view(mode: str) -> Runner:
    def show(app: App[Any], word: str, arg: str) -> None:
        console_of(app).show_view(mode)
        focus = getattr(app.screen, "focus_section", None)
        if mode == "connect" and callable(focus):
            focus("kube" if word.startswith(("ctx", "context")) else "native")

    return show


def _optional(key: str, route: str = "") -> Runner:
    """A view another part of the project provides: of the gateway, or of a route (``route`` "any":
    the one given or selected, or none; "given": only the one given; "required": say which when
    there is none)."""

    def open_view(app: App[Any], word: str, arg: str) -> None:
        console = console_of(app)
        if not route:
            console.open_optional(key, console.connector)
            return
        name = arg or (selected_route(app) if route != "given" else None)
        if route == "required" and not name:
            app.notify(f"Say which route: :{key} ROUTE", title=key.capitalize(), severity="warning")
            return
        console.open_optional(key, console.connector, name)

    return open_view


def _action(name: str) -> Runner:
    """The current screen's ``action_<name>``, else the app's (undo, refresh, help)."""

    def act(app: App[Any], word: str, arg: str) -> None:
        getattr(app.screen, f"action_{name}", getattr(app, f"action_{name}", _missing(app, name)))()

    return act


def _theme(app: App[Any], word: str, arg: str) -> None:
    if arg in app.available_themes:
        app.theme = arg
    else:
        app.notify(f"Themes: {', '.join(THEME_ORDER)}", title=f"Unknown theme {arg!r}", severity="error")


def _back(app: App[Any], word: str, arg: str) -> None:
    if len(app.screen_stack) > 1:
        app.pop_screen()


def _quit(app: App[Any], word: str, arg: str) -> None:
    console_of(app).request_quit()  # k9s: :q quits (esc goes back), asking when it would lose something


def _quit_now(app: App[Any], word: str, arg: str) -> None:
    app.exit()  # as in vim and k9s: no questions


COMMANDS: tuple[Command, ...] = (
    Command(("routes", "route", "rt"), ":routes :rt", "the routes view", _view("routes")),
    Command(
        ("policies", "policy", "pol"), ":policies :pol", "every policy on every route", _view("policies")
    ),
    Command(
        ("gateways", "gateway", "gw", "connect"),
        ":gateways :gw",
        "connect to another gateway",
        _view("connect"),
    ),
    Command(("ctx", "context", "contexts"), ":ctx", "cluster contexts to connect to", _view("connect")),
    Command(("history", "hist"), ":history :hist", "applied changes, newest first", _view("history")),
    Command(("triage",), ":triage", "429s by route, since when, and who", _optional("triage")),
    Command(("health",), ":health", "backend health and ejections", _optional("health")),
    Command(("timeboxes",), ":timeboxes", "time-boxed changes and reverts", _optional("timeboxes")),
    Command(
        ("canary",),
        ":canary ROUTE",
        "step a canary (default: selected)",
        _optional("canary", "required"),
        completes=("canary ",),
    ),
    Command(("charts",), ":charts [ROUTE]", "traffic charts: gateway or route", _optional("charts", "any")),
    Command(
        ("proxies",),
        ":proxies [ROUTE]",
        "route on each proxy (Kubernetes)",
        _optional("proxies", "any"),
        completes=("proxies ",),
    ),
    Command(
        ("match",),
        ":match [ROUTE]",
        "what happens to a request (m)",
        _optional("match", "given"),  # a route given: the form is filled in with a request it takes
    ),
    Command(
        ("theme",),
        ":theme NAME",
        "dark, light or high-contrast",
        _theme,
        completes=tuple(f"theme {t}" for t in THEME_ORDER),
    ),
    Command(("undo",), ":undo", "undo the last change, via its diff", _action("undo")),
    Command(("refresh",), ":refresh", "re-read everything now (ctrl+r)", _action("refresh")),
    Command(("help",), ":help", "this help (?)", _action("help")),
    Command(("back",), ":back", "", _back, completes=()),  # esc does it; help lists esc
    Command(
        ("q", "quit", "exit", "qa"),
        ":q",
        "quit, asking when needed (ctrl+c)",
        _quit,
        completes=("quit", "q"),
    ),
    Command(("q!", "quit!"), ":q!", "quit at once, never asking", _quit_now, completes=()),
)

_BY_NAME = {name: command for command in COMMANDS for name in command.names}

# Every word the prompt completes.
COMPLETIONS = sorted({word for command in COMMANDS for word in command.completions})


def find(word: str) -> Command | None:
    """The command ``word`` runs (any of its names, any case)."""
    return _BY_NAME.get(word.lower())


def help_rows() -> list[tuple[str, str]]:
    """(usage, what it does) of every command help lists, in the table's order."""
    return [(command.usage, command.help) for command in COMMANDS if command.help]


def prompt_hint() -> str:
    """The empty prompt's placeholder: every listed command's name."""
    return ", ".join(command.usage.split()[0].removeprefix(":") for command in COMMANDS if command.help)


def run(app: App[Any], text: str) -> None:
    word, _, arg = text.strip().partition(" ")
    if not word:
        return
    command = find(word)
    if command is None:
        app.notify(
            f"Try {prompt_hint()} (? lists what each does)",
            title=f"Unknown command {word.lower()!r}",
            severity="error",
        )
        return
    command.run(app, word.lower(), arg.strip())


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
