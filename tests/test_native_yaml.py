"""The native gateway's YAML file is saved the way the operator wrote it: only the edited fields'
lines change, whether one route's lines are spliced or the whole document is re-emitted."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.errors import ConfigSyntaxError
from connectors.model import Cors, RateLimit, Route, RouteMatch, StringMatch, WeightedBackend
from connectors.model.edits import set_cors, set_rate_limit, set_weights
from connectors.native.config_file import ConfigFile, load_text, patch_document
from connectors.native.yaml_splice import RouteLines, splice_routes
from tests.native_support import CONFIG_TEMPLATE

TEXT = CONFIG_TEMPLATE.format(
    name="yaml-gw",
    port=10000,
    v1="127.0.0.1:1",
    v2="127.0.0.1:2",
    issuer="https://issuer.test",
    audience="aud",
    jwks='{"keys": []}',
)


@pytest.fixture
def config(tmp_path: Path) -> ConfigFile:
    path = tmp_path / "gateway.yaml"
    path.write_text(TEXT)
    return ConfigFile.load(path)


def _whole_document(cf: ConfigFile, new_routes: list[Route]) -> str:
    patched = patch_document(cf.text, cf.gateway, replace(cf.gateway, routes=tuple(new_routes)), cf.indent)
    assert patched is not None
    return patched


def _edited(cf: ConfigFile, route: Route) -> list[Route]:
    return [route if r.name == route.name else r for r in cf.gateway.routes]


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=False) if a != b]


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: set_weights(r, {"v1": 75, "v2": 25}) if r.name == "canary" else r,
        lambda r: set_rate_limit(r, RateLimit(10, 1.0)) if r.name == "host-v1" else r,
        lambda r: set_rate_limit(r, None) if r.name == "limited" else r,
        lambda r: set_cors(r, Cors((StringMatch("exact", "https://b.example"),))) if r.name == "cors" else r,
        lambda r: (
            replace(r, matches=(RouteMatch(StringMatch("prefix", "/v3/")),)) if r.name == "path-v2" else r
        ),
    ],
    ids=["weights", "add-limit", "remove-limit", "cors", "match"],
)
def test_splicing_one_route_equals_editing_the_whole_document(config: ConfigFile, edit: object) -> None:
    new_routes = [edit(r) for r in config.gateway.routes]  # type: ignore[operator]
    new = replace(config.gateway, routes=tuple(new_routes))
    result = splice_routes(config.text, config.gateway, new, config.indent)
    assert result is not None
    spliced, index = result
    assert spliced == _whole_document(config, new_routes)
    assert index == RouteLines.of(spliced)  # the line index kept for the next save is right
    reread = load_text(spliced, "t")
    assert [r["name"] for r in reread["routes"]] == [r.name for r in new.routes]


def test_weight_edit_changes_only_the_weight_lines(config: ConfigFile) -> None:
    canary = config.gateway.route("canary")
    config.save(
        replace(config.gateway, routes=tuple(_edited(config, set_weights(canary, {"v1": 60, "v2": 40}))))
    )
    assert _changed_lines(TEXT, config.path.read_text()) == [
        ("        weight: 90   # stable share", "        weight: 60   # stable share"),
        ("        weight: 10   # canary share", "        weight: 40   # canary share"),
    ]
    assert not config.changed_on_disk()
    assert ConfigFile.load(config.path).gateway == config.gateway


def test_adding_and_removing_routes_keeps_every_comment(config: ConfigFile) -> None:
    added = Route("new-route", (WeightedBackend("v2", 100),), hosts=("new.test",))
    routes = [r for r in config.gateway.routes if r.name != "host-v2"] + [added]
    config.save(replace(config.gateway, routes=tuple(routes)))
    text = config.path.read_text()
    for comment in ("# Test gateway", "# stable", "# canary", "# the canary: most traffic", "# stable share"):
        assert comment in text
    assert "name: host-v2" not in text and "name: new-route" in text
    assert [r.name for r in ConfigFile.load(config.path).gateway.routes] == [r.name for r in routes]


def test_replacing_an_alias_spelling_does_not_leave_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(
        "name: g\nlisteners: [{name: main, port: 1}]\nbackends: [{name: v1, endpoints: ['127.0.0.1:1']}]\n"
        "routes:\n- name: r  # the route\n  backends: [v1]\n  rate_limit: {requests: 5, per: 1m}\n"
    )
    cf = ConfigFile.load(path)
    route = cf.gateway.route("r")
    cf.save(replace(cf.gateway, routes=(set_rate_limit(route, RateLimit(5, 120.0)),)))
    text = path.read_text()
    assert "per:" not in text and "interval: 2m" in text and "# the route" in text
    assert ConfigFile.load(path).gateway.route("r").rate_limit == RateLimit(5, 120.0)


def test_file_mode_is_kept_on_save(config: ConfigFile) -> None:
    os.chmod(config.path, 0o600)
    canary = config.gateway.route("canary")
    config.save(
        replace(config.gateway, routes=tuple(_edited(config, set_weights(canary, {"v1": 1, "v2": 99}))))
    )
    assert config.path.stat().st_mode & 0o777 == 0o600


def test_a_key_given_twice_is_a_syntax_error_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nlisteners: []\nname: b\n")
    with pytest.raises(ConfigSyntaxError) as exc:
        ConfigFile.load(path)
    assert (exc.value.line, exc.value.column) == (3, 1)
    assert "duplicate key 'name'" in str(exc.value)


def test_a_file_that_changed_on_disk_is_noticed(config: ConfigFile) -> None:
    assert not config.changed_on_disk()
    config.path.write_text(TEXT.replace("# stable", "# still stable"))
    assert config.changed_on_disk()


def test_consecutive_saves_reuse_the_line_index(config: ConfigFile) -> None:
    for weights in ({"v1": 10, "v2": 90}, {"v1": 20, "v2": 80}):
        canary = config.gateway.route("canary")
        limited = set_rate_limit(config.gateway.route("limited"), RateLimit(weights["v1"], 1.0, burst=3))
        routes = [set_weights(canary, weights) if r.name == "canary" else r for r in config.gateway.routes]
        routes = [limited if r.name == "limited" else r for r in routes]
        config.save(replace(config.gateway, routes=tuple(routes)))
        assert ConfigFile.load(config.path).gateway == config.gateway
    assert "weight: 20   # stable share" in config.path.read_text()
