"""Themes: YAML files in the ``themes`` package, loaded into Textual ``Theme`` objects.

Each file names the Textual base colours plus app-specific ``variables`` (route-healthy,
route-degraded, route-limited, route-idle, weight-a/b, diff-*), which TCSS uses as ``$route-healthy``.
Built-in Textual themes lack those variables, so ``app_variables`` derives them from the base colours.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from textual.theme import Theme

import themes as theme_files
from connectors.errors import Problem, ValidationError

from .yaml_cache import YamlFileError, load_yaml_file

# The themes we ship, in the order the theme key cycles through them.
THEME_ORDER = ("dark", "light", "high-contrast")
DEFAULT_THEME = "dark"

# App variables and the base colour each falls back to when a theme does not set it.
APP_VARIABLES = {
    "route-healthy": "success",
    "route-degraded": "error",
    "route-limited": "warning",
    "route-idle": "text-muted",
    "weight-a": "primary",
    "weight-b": "accent",
    "diff-added": "success",
    "diff-removed": "error",
    "diff-hunk": "primary",
}

_THEME_KEYS = {f.name for f in fields(Theme)}


def theme_from_dict(data: object, source: str) -> Theme:
    """A Theme from parsed YAML; every unknown key or wrong type is reported at once."""
    if not isinstance(data, dict):
        raise ValidationError([Problem(source, "a theme file must be a mapping")])
    problems = [
        Problem(f"{source}.{key}", f"unknown theme field (expected one of: {', '.join(sorted(_THEME_KEYS))})")
        for key in data
        if key not in _THEME_KEYS
    ]
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        problems.append(Problem(source, "a theme needs a name and a primary colour"))
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        problems.append(Problem(f"{source}.variables", "must map variable names to colour strings"))
    if problems:
        raise ValidationError(problems)
    return Theme(**{k: v for k, v in data.items() if k in _THEME_KEYS})


def load_themes() -> list[Theme]:
    """Every ``*.yaml`` theme shipped in the ``themes`` package, in THEME_ORDER first."""
    # The package's own directory (the wheel installs it as files): importlib.resources would cost
    # ~3 ms of imports at every start.
    folder = Path(theme_files.__file__).parent
    themes: dict[str, Theme] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            try:
                data = load_yaml_file(entry)
            except YamlFileError as exc:
                raise ValidationError([Problem(entry.name, f"is not valid YAML: {exc}")]) from exc
            theme = theme_from_dict(data, entry.name)
            themes[theme.name] = theme
    ordered = [themes.pop(n) for n in THEME_ORDER if n in themes]
    return ordered + list(themes.values())


def app_variables(variables: dict[str, str]) -> dict[str, str]:
    """``variables`` (Textual's generated CSS variables) plus our app variables where missing."""
    out = dict(variables)
    for name, base in APP_VARIABLES.items():
        if name not in out:
            out[name] = variables.get(base) or variables.get("foreground", "ansi_default")
    return out


def next_theme(current: str) -> str:
    """The theme after ``current`` in THEME_ORDER (the theme key cycles)."""
    if current not in THEME_ORDER:
        return THEME_ORDER[0]
    return THEME_ORDER[(THEME_ORDER.index(current) + 1) % len(THEME_ORDER)]
