"""Every key of the console has a binding id, and ``keymap:`` in console.yaml remaps it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.test_tui_support import StaticConnector, sample_routes, visible_text
from tui.app import ConsoleApp
from tui.config import parse_config
from tui.keymap import binding_ids, bindings_of, node_classes
from tui.screens.routes import RoutesScreen
from tui.textual_compat import notifications
from tui.widgets.key_hints import KeyHints


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


def _write_config(tmp_path: Path, text: str) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "console.yaml").write_text(text, encoding="utf-8")


async def _routes_loaded(pilot: Pilot[None]) -> RoutesScreen:
    for _ in range(100):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if pilot.app.routes_loaded:  # type: ignore[attr-defined]
            break
    screen = pilot.app.screen
    assert isinstance(screen, RoutesScreen)
    return screen


def test_every_binding_has_an_id() -> None:
    missing = [
        f"{cls.__qualname__}: {b.key} -> {b.action}"
        for cls in node_classes()
        for b in bindings_of(cls)
        if not b.id
    ]
    assert not missing, f"bindings without an id cannot be remapped: {missing}"
    assert {"view.filter", "route.edit_weights", "diff.apply", "app.help"} <= binding_ids()


def test_keymap_entries_are_validated_by_field() -> None:
    loaded = parse_config({"keymap": {"view.filter": "f", "diff.apply": 3, "app.help": " "}})
    assert loaded.config.keymap == (("view.filter", "f"),)
    messages = [str(p) for p in loaded.problems]
    assert len(messages) == 2
    assert "keymap.diff.apply" in messages[0] and "3" in messages[0]
    assert "keymap.app.help" in messages[1]
    assert parse_config({"keymap": ["f"]}).problems[0].path.endswith("keymap")


async def test_a_remapped_key_filters_and_the_hints_show_it(tmp_path: Path) -> None:
    _write_config(tmp_path, "keymap:\n  view.filter: f\n")
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(140, 30), notifications=True) as pilot:
        screen = await _routes_loaded(pilot)
        await pilot.press("slash")
        assert screen.table.filter_text == "", "the old key no longer filters"
        await pilot.press("f", *"search", "enter")
        assert screen.table.shown_keys == ["search"]
        hints = app.screen.query_one(KeyHints).hints()
        assert ("f", "Filter", "f", True) in hints
        assert not [n for n in notifications(app) if "keymap" in n.message], "known ids are not reported"


async def test_unknown_binding_ids_are_reported_in_one_line(tmp_path: Path) -> None:
    _write_config(tmp_path, "keymap:\n  view.filtr: f\n  nope.thing: g\n  app.help: f1\n")
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=(140, 30), notifications=True) as pilot:
        await _routes_loaded(pilot)
        reported = [n.message for n in notifications(app) if "keymap" in n.message]
        assert reported == [
            "keymap: unknown binding id(s) view.filtr, nope.thing (ids are listed in the README)"
        ]
        assert "view.filtr" in visible_text(app)
