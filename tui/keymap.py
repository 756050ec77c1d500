"""Binding ids: every key of the console has one, so ``console.yaml`` can remap it.

``keymap:`` in ``console.yaml`` maps ids to keys (``view.filter: f``, ``app.help: f1``); Textual's
``App.set_keymap`` applies it. The ids are ``<scope>.<action>``: ``view.*`` for what every view
shares (filter, refresh, back, describe, undo), ``route.*`` for views about routes (``route.edit_cors``),
``dialog.close`` for every dialog's escape, and one scope per screen (``diff.apply``,
``canary.abort``...). ``binding_ids()`` finds them all by importing every screen and widget module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from typing import Any

from textual.binding import Binding
from textual.dom import DOMNode

PACKAGES = ("tui.screens", "tui.widgets")
MODULES = ("tui.app",)


def _modules() -> Iterator[Any]:
    for name in MODULES:
        yield importlib.import_module(name)
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            yield importlib.import_module(f"{package_name}.{info.name}")


def node_classes() -> list[type[DOMNode]]:
    """Every screen, widget and app class the console defines."""
    found: dict[str, type[DOMNode]] = {}
    for module in _modules():
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, DOMNode) and value.__module__.startswith("tui."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def bindings_of(node_class: type[DOMNode]) -> list[Binding]:
    """The console's own bindings of a class (its BINDINGS and those of the classes it extends)."""
    out: list[Binding] = []
    for cls in node_class.__mro__:
        if cls.__module__.startswith("tui.") and "BINDINGS" in vars(cls):
            out.extend(Binding.make_bindings(vars(cls)["BINDINGS"]))
    return out


def binding_ids() -> set[str]:
    return {b.id for cls in node_classes() for b in bindings_of(cls) if b.id}


def unknown_binding_ids(ids: Iterable[str]) -> list[str]:
    """The ids in ``ids`` that no binding of the console has, in the order given."""
    known = binding_ids()
    return [binding_id for binding_id in ids if binding_id not in known]
