"""The console's pure parts: filtering and sorting, live figures, settings, themes, rebasing an edit,
classifying probe answers. Fast, no gateway."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.change import rebase
from connectors.errors import ChangeConflict, ValidationError
from connectors.metrics.types import RouteStats
from connectors.model import Cors, RateLimit, StringMatch, WeightedBackend
from connectors.probe import classify
from tests.test_tui_support import many_routes, sample_routes
from tui.config import load_config, save_setting
from tui.route_rows import live_cells, policy_rows, route_rows, status_of
from tui.screens.edit_cors import parse_origin
from tui.table_query import CELL_SEPARATOR, apply_filter, compile_filter, sort_order
from tui.themes import APP_VARIABLES, THEME_ORDER, app_variables, load_themes, next_theme, theme_from_dict
from tui.widgets.weight_bar import split_cells


def _haystacks(count: int) -> tuple[list[str], list[str]]:
    keys, rows = route_rows(many_routes(count))
    return keys, [CELL_SEPARATOR.join(r) for r in rows]


def _shown(text: str, count: int = 50) -> list[str]:
    keys, haystacks = _haystacks(count)
    return [keys[i] for i in apply_filter(range(count), haystacks, compile_filter(text))]


def test_filter_is_a_case_insensitive_regex_and_bang_inverts() -> None:
    assert _shown("ROUTE-0000[0-2]") == ["route-00000", "route-00001", "route-00002"]
    assert len(_shown("!route-0000[0-2]")) == 47
    assert _shown("") == _shown("!")  # nothing typed after ! yet: everything shows


def test_anchors_apply_to_a_cell_not_the_whole_row() -> None:
    # The name cell alone matches ^...$, although the row holds hosts and backends too.
    assert _shown("^route-00042$") == ["route-00042"]
    assert len(_shown("^host4\\.example\\.com$")) == 1  # the hosts cell of route 4


def test_text_that_is_not_a_regex_is_matched_literally_with_a_note() -> None:
    row_filter = compile_filter("r3/[")
    assert row_filter.note.startswith("not a regex")
    assert row_filter.matches("prefix /r3/[x]") and not row_filter.matches("/r3/x")


def test_sort_order_is_stable_and_reversible() -> None:
    values = ["b", "a", "b", "a"]
    assert sort_order(4, lambda i: values[i]) == [1, 3, 0, 2]
    assert sort_order(4, lambda i: values[i], reverse=True) == [0, 2, 1, 3]
    assert sort_order(3, None, reverse=True) == [2, 1, 0]


def test_live_cells_show_dashes_without_figures_and_a_status_with_them() -> None:
    assert live_cells(None)[0] == ("—", "—", "—", "—")
    stats = RouteStats("shop", rps=12.34, error_pct=0.0, limited_rps=0.0, p99_ms=8.2)
    texts, sort_values, status = live_cells(stats)
    assert texts == ("12.3", "0.0", "0.0", "8ms") and sort_values[0] == 12.34 and status == "healthy"
    assert status_of(replace(stats, error_pct=3.0)) == "degraded"
    assert status_of(replace(stats, limited_rps=2.0)) == "limited"
    assert status_of(replace(stats, rps=0.0)) == "idle"


def test_policies_view_has_one_row_per_policy() -> None:
    _, rows = policy_rows(sample_routes())
    by_route = [(r[0], r[1]) for r in rows]
    assert ("api", "ratelimit") in by_route and ("api", "cors") in by_route
    assert ("checkout", "jwt") in by_route and ("checkout", "retries") in by_route
    assert rows[by_route.index(("api-limited", "ratelimit"))][2] == "5/1m"


def test_weight_bar_cells_add_up_and_small_shares_stay_visible() -> None:
    assert split_cells([90.0, 10.0], 40) == [36, 4]
    assert split_cells([99.0, 1.0], 10) == [9, 1]
    assert sum(split_cells([33.0, 33.0, 34.0], 41)) == 41
    assert split_cells([0.0, 0.0], 10) == [0, 0]


def test_settings_report_unknown_keys_and_bad_values_and_keep_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("GATEWAYCTL_THEME", raising=False)
    (tmp_path / "console.yaml").write_text("theme: light\nrefresh_seconds: 0\ncolour: red\n")
    loaded = load_config()
    assert loaded.config.theme == "light" and loaded.config.refresh_seconds == 1.0
    assert sorted(p.path for p in loaded.problems) == [
        "console.yaml: colour",
        "console.yaml: refresh_seconds",
    ]
    save_setting("last_target", "native:/somewhere")
    assert load_config().config.last_target == "native:/somewhere"
    assert "colour: red" in (tmp_path / "console.yaml").read_text(), "unknown keys are kept, not erased"
    monkeypatch.setenv("GATEWAYCTL_THEME", "high-contrast")
    assert load_config().config.theme == "high-contrast"


def test_a_settings_file_edited_by_hand_is_read_again_not_taken_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GATEWAYCTL_REFRESH", raising=False)
    path = tmp_path / "config" / "console.yaml"
    path.parent.mkdir()
    path.write_text("refresh_seconds: 2\n")
    assert load_config().config.refresh_seconds == 2.0
    assert load_config().config.refresh_seconds == 2.0  # the second start reads the cached parse
    assert list((tmp_path / "cache").rglob("*.json")), "the parsed file is cached"
    stat = path.stat()
    path.write_text("refresh_seconds: 3\n")  # same size, and the same modification time as before
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_config().config.refresh_seconds == 3.0
    path.write_text("refresh_seconds: [3\n")
    loaded = load_config()
    assert loaded.config.refresh_seconds == 1.0, "a broken file falls back to the defaults"
    assert "line 1" in str(loaded.problems[0]) or "line 2" in str(loaded.problems[0]), loaded.problems


def test_themes_load_from_a_damaged_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CACHE_DIR", str(tmp_path / "cache"))
    first = {t.name: t for t in load_themes()}
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == len(THEME_ORDER)
    for entry in entries:
        entry.write_text('{"path": "not json')
    again = {t.name: t for t in load_themes()}
    assert again == first


def test_shipped_themes_load_with_every_app_variable() -> None:
    themes = {t.name: t for t in load_themes()}
    assert set(THEME_ORDER) <= set(themes)
    for name in THEME_ORDER:
        assert set(APP_VARIABLES) <= set(themes[name].variables), name
    assert themes["light"].dark is False
    assert next_theme("dark") == "light" and next_theme("high-contrast") == "dark"


def test_a_theme_file_with_unknown_fields_is_refused_with_every_problem() -> None:
    with pytest.raises(ValidationError) as info:
        theme_from_dict({"name": "x", "primary": "#fff", "colour": "red", "variables": {"a": 1}}, "x.yaml")
    assert {p.path for p in info.value.problems} == {"x.yaml.colour", "x.yaml.variables"}


def test_builtin_themes_get_app_variables_from_their_own_colours() -> None:
    variables = app_variables(
        {"success": "#00ff00", "error": "#ff0000", "warning": "#ffff00", "primary": "#00f"}
    )
    assert variables["route-healthy"] == "#00ff00" and variables["route-degraded"] == "#ff0000"


def test_rebase_keeps_someone_elses_change_and_refuses_a_conflict() -> None:
    original = sample_routes()[1]  # api: 50/50, rate limit, CORS
    edited = replace(original, backends=(WeightedBackend("v1", 80), WeightedBackend("v2", 20)))
    theirs = replace(original, rate_limit=RateLimit(7, 1.0))
    route, moved = rebase("weights", original, edited, theirs)
    assert moved and route.rate_limit == RateLimit(7, 1.0) and route.backends == edited.backends
    conflicting = replace(original, backends=(WeightedBackend("v1", 10), WeightedBackend("v2", 90)))
    with pytest.raises(ChangeConflict, match="weights of route api changed"):
        rebase("weights", original, edited, conflicting)
    assert (
        rebase("cors", original, replace(original, cors=Cors((StringMatch("exact", "*"),))), original)[1]
        is False
    )


def test_origin_lines_use_the_models_short_forms() -> None:
    assert parse_origin("https://a.example") == StringMatch("exact", "https://a.example")
    assert parse_origin("https://*") == StringMatch("prefix", "https://")
    assert parse_origin("~https://.*\\.example") == StringMatch("regex", "https://.*\\.example")
    assert parse_origin("regex:https://x") == StringMatch("regex", "https://x")
    assert parse_origin("*") == StringMatch("exact", "*")


@pytest.mark.parametrize(
    ("step", "status", "headers", "body", "expected"),
    [
        ("request", 429, {}, "local_rate_limited", "rate-limit"),
        ("request", 401, {"www-authenticate": "Bearer realm=x"}, "Jwt is missing", "jwt"),
        ("request", 200, {"x-backend": "v2"}, "{}", "upstream"),
        ("preflight", 200, {"access-control-allow-origin": "https://a"}, "", "cors"),
        ("preflight", 200, {"x-backend": "v1"}, "{}", "upstream"),
        ("request", 404, {}, "", "gateway"),
    ],
)
def test_probe_tells_who_answered(
    step: str, status: int, headers: dict[str, str], body: str, expected: str
) -> None:
    assert classify(step, status, headers, body)[0] == expected  # type: ignore[arg-type]
