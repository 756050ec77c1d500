"""Comments and layout are the operator's: over a corpus of hand-written gateway files (tests/
yaml_corpus: block and flow styles, comments between routes, inside mappings and at the end,
short spellings), every edit kind on every route changes only the lines of the node it edits,
and undoing it restores the file byte for byte, in the same process or in a new one (the CLI).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.model import Cors, Gateway, RateLimit, Route, StringMatch, WeightedBackend
from connectors.model.edits import set_cors, set_rate_limit
from connectors.native import NativeConnector
from connectors.native.config_file import ConfigFile
from connectors.native.yaml_splice import RouteLines
from tui.cli import main

CORPUS = sorted((Path(__file__).parent / "yaml_corpus").glob("*.yaml"))
Edit = Callable[[Route], Route | None]


def _weights(r: Route) -> Route:
    if len(r.backends) == 1:  # start a canary: a second backend appears
        return replace(r, backends=(WeightedBackend("v1", 80), WeightedBackend("v2", 20)))
    scale = 1 if r.weight_mode == "relative" else 10
    return replace(
        r, backends=tuple(WeightedBackend(b.name, (3 + 4 * i) * scale) for i, b in enumerate(r.backends))
    )


def _limit(r: Route, **change: object) -> Route | None:
    return set_rate_limit(r, replace(r.rate_limit, **change)) if r.rate_limit else None  # type: ignore[arg-type]


def _cors(r: Route, **change: object) -> Route | None:
    return set_cors(r, replace(r.cors, **change)) if r.cors else None  # type: ignore[arg-type]


EDITS: dict[str, Edit] = {
    "weights": _weights,
    "limit-set": lambda r: set_rate_limit(r, RateLimit(7, 60.0)) if r.rate_limit is None else None,
    "limit-requests-without-burst": lambda r: _limit(r, requests=42, burst=None),
    "limit-interval": lambda r: _limit(r, interval=120.0),
    "limit-burst": lambda r: _limit(r, burst=99),
    "limit-disable": lambda r: _limit(r, enabled=False),
    "limit-remove": lambda r: set_rate_limit(r, None) if r.rate_limit else None,
    "cors-set": lambda r: (
        set_cors(r, Cors((StringMatch("exact", "https://new.example"),), ("GET",)))
        if r.cors is None
        else None
    ),
    "cors-add-origin": lambda r: _cors(
        r,
        allow_origins=(
            *(r.cors.allow_origins if r.cors else ()),
            StringMatch("exact", "https://more.example"),
        ),
    ),
    "cors-drop-origin": lambda r: _cors(r, allow_origins=r.cors.allow_origins[:1] if r.cors else ()),
    "cors-methods": lambda r: _cors(r, allow_methods=("GET", "PUT", "DELETE")),
    "cors-max-age": lambda r: _cors(r, max_age=30.0),
    "cors-remove": lambda r: set_cors(r, None) if r.cors else None,
}


def _cases() -> list[tuple[Path, str, str]]:
    cases = []
    for path in CORPUS:
        gw = ConfigFile.load(path).gateway
        for route in gw.routes:
            for kind, edit in EDITS.items():
                if edit(route) is not None:
                    cases.append((path, route.name, kind))
    return cases


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


def _full_line_comments(lines: list[str]) -> Counter[str]:
    return Counter(line.strip() for line in lines if line.strip().startswith("#") or not line.strip())


def _edited(gw: Gateway, name: str, kind: str) -> Gateway:
    route = EDITS[kind](gw.route(name))
    assert route is not None
    return gw.with_route(route)


@pytest.mark.parametrize(
    ("path", "route", "kind"), _cases(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_an_edit_changes_only_its_node_and_undo_restores_every_byte(
    path: Path, route: str, kind: str, tmp_path: Path
) -> None:
    file = tmp_path / path.name
    shutil.copy(path, file)
    original = file.read_text()
    cf = ConfigFile.load(file)
    before = cf.gateway
    new = _edited(before, route, kind)
    cf.save(new)
    edited = file.read_text()
    assert ConfigFile.load(file).gateway == new  # reads back as the edit

    # Outside the edited route's lines nothing moved; inside, every comment and blank line stayed.
    index = RouteLines.of(original)
    assert index is not None
    start, end = index.spans[[r.name for r in before.routes].index(route)]
    old_lines, new_lines = original.splitlines(keepends=True), edited.splitlines(keepends=True)
    tail = len(old_lines) - end
    assert new_lines[:start] == old_lines[:start]
    assert new_lines[len(new_lines) - tail :] == old_lines[end:]
    kept = _full_line_comments(old_lines[start:end])
    assert _full_line_comments(new_lines[start : len(new_lines) - tail]) == kept

    # Undo in a new process (as the CLI does): the file is the original, byte for byte.
    ConfigFile.load(file).save(before)
    assert file.read_bytes() == original.encode()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_undo_in_the_same_process_and_a_second_edit_in_between(path: Path, tmp_path: Path) -> None:
    file = tmp_path / path.name
    shutil.copy(path, file)
    original = file.read_bytes()
    cf = ConfigFile.load(file)
    before = cf.gateway
    first = before.routes[0]
    cf.save(before.with_route(set_rate_limit(first, None)))
    cf.save(before)  # undo right away, same ConfigFile
    assert file.read_bytes() == original
    # Two edits, then undo the second only: the file is as after the first edit.
    cf.save(_edited(before, first.name, "weights"))
    after_first = file.read_bytes()
    mid = cf.gateway
    cf.save(mid.with_route(set_cors(mid.route(first.name), None)))
    cf.save(mid)
    assert file.read_bytes() == after_first


def test_a_hand_edit_after_a_change_is_never_overwritten_by_the_kept_copy(tmp_path: Path) -> None:
    file = tmp_path / "flow.yaml"
    shutil.copy(CORPUS[[p.name for p in CORPUS].index("flow.yaml")], file)
    cf = ConfigFile.load(file)
    before = cf.gateway
    cf.save(before.with_route(set_rate_limit(before.route("canary"), None)))
    file.write_text(file.read_text().replace("# trailing comment", "# the operator was here"))
    ConfigFile.load(file).save(before)
    text = file.read_text()
    assert "# the operator was here" in text and ConfigFile.load(file).gateway == before


def test_the_corpus_covers_every_edit_kind() -> None:
    assert {kind for _, _, kind in _cases()} == set(EDITS)
    assert len(CORPUS) >= 4


def test_cli_edits_then_undos_leave_the_real_gateways_file_byte_identical(
    native_gateway: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = native_gateway
    original = gw.config_path.read_bytes()
    edits = [
        ["set-rate-limit", "limited", "--remove"],
        ["set-rate-limit", "canary", "--requests", "9"],
        ["set-cors", "cors", "--allow-origin", "https://x.example", "--allow-method", "GET"],
        ["set-weights", "canary", "v1=60", "v2=40"],
    ]
    for argv in edits:
        assert main([*argv, "--gateway", str(gw.state_dir)]) == 0, capsys.readouterr().err
        text = gw.config_path.read_text()
        assert "# the canary: most traffic stays on v1" in text and "# Test gateway" in text
    assert "rate_limit: {requests: 9, interval: 1s}" in gw.config_path.read_text()  # flow, as siblings
    for _ in edits:
        assert main(["undo", "--gateway", str(gw.state_dir)]) == 0, capsys.readouterr().err
    assert gw.config_path.read_bytes() == original
