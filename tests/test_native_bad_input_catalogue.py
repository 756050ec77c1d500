"""The bad-input catalogue: every input is refused with ONE line naming the field, a non-zero exit
and no traceback, and changes nothing: the gateway's YAML, its history, the audit log and what
Envoy serves (/config_dump) hash the same before and after. One real gateway serves the module.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.native import NativeConnector
from connectors.paths import state_dir
from tests.bad_inputs import YAML_CASES
from tui.cli import main

# (id, argv before --gateway, a piece of the one error line). ROUTE stands for the route's name.
CLI_CASES: list[tuple[str, list[str], str]] = [
    ("weights-sum", ["set-weights", "canary", "v1=90", "v2=20"], "canary.backends: weights sum to 110"),
    ("weights-negative", ["set-weights", "canary", "v1=110", "v2=-10"], "canary.backends[1].weight"),
    ("weights-unknown", ["set-weights", "canary", "v1=50", "v9=50"], "canary.backends"),
    ("weights-text", ["set-weights", "canary", "v1=half", "v2=50"], "weight of 'v1'"),
    ("weights-no-equals", ["set-weights", "canary", "v1"], "expected BACKEND=WEIGHT"),
    ("weights-no-name", ["set-weights", "canary", "=100"], "expected BACKEND=WEIGHT"),
    ("weights-twice", ["set-weights", "canary", "v1=50", "v1=50"], "backend 'v1' is given twice"),
    ("weights-huge", ["set-weights", "canary", "v1=4294967296", "v2=0"], "canary.backends"),
    ("weights-no-route", ["set-weights", "nope", "v1=100"], "no route named 'nope'"),
    ("limit-zero", ["set-rate-limit", "limited", "--requests", "0"], "limited.rate_limit.requests"),
    ("limit-negative", ["set-rate-limit", "limited", "--requests", "-5"], "limited.rate_limit.requests"),
    (
        "limit-uint32",
        ["set-rate-limit", "limited", "--requests", "4294967296"],
        "limited.rate_limit.requests",
    ),
    ("limit-text", ["set-rate-limit", "limited", "--requests", "many"], "--requests"),
    (
        "limit-interval-0s",
        ["set-rate-limit", "limited", "--requests", "5", "--interval", "0s"],
        "rate_limit.interval",
    ),
    (
        "limit-interval-0",
        ["set-rate-limit", "limited", "--requests", "5", "--interval", "0"],
        "--interval",
    ),
    (
        "limit-interval-10ms",
        ["set-rate-limit", "limited", "--requests", "5", "--interval", "10ms"],
        "interval",
    ),
    (
        "limit-interval-text",
        ["set-rate-limit", "limited", "--requests", "5", "--interval", "soon"],
        "--interval",
    ),
    (
        "limit-interval-neg",
        ["set-rate-limit", "limited", "--requests", "5", "--interval", "-1s"],
        "--interval",
    ),
    (
        "limit-interval-huge",
        ["set-rate-limit", "limited", "--requests", "5", "--interval", "99999999999h"],
        "interval",
    ),
    (
        "limit-burst-zero",
        ["set-rate-limit", "limited", "--requests", "5", "--burst", "0"],
        "rate_limit.burst",
    ),
    (
        "limit-burst-uint32",
        ["set-rate-limit", "limited", "--requests", "5", "--burst", "4294967296"],
        "burst",
    ),
    (
        "limit-burst-alone",
        ["set-rate-limit", "limited", "--burst", "5"],
        "--interval and --burst go with --requests",
    ),
    (
        "limit-interval-alone",
        ["set-rate-limit", "limited", "--interval", "1s"],
        "--interval and --burst go with --requests",
    ),
    ("limit-disable-none", ["set-rate-limit", "host-v1", "--disable"], "host-v1.rate_limit"),
    ("limit-two-actions", ["set-rate-limit", "limited", "--remove", "--disable"], "not allowed with"),
    (
        "cors-regex-any-creds",
        ["set-cors", "cors", "--allow-origin", "regex:.*", "--allow-credentials"],
        "allow_origins[0]",
    ),
    (
        "cors-prefix-http-creds",
        ["set-cors", "cors", "--allow-origin", "prefix:http", "--allow-credentials"],
        "allow_origins[0]",
    ),
    (
        "cors-prefix-https-creds",
        ["set-cors", "cors", "--allow-origin", "prefix:https://", "--allow-credentials"],
        "allow_origins[0]",
    ),
    (
        "cors-prefix-host-creds",  # https://app.example.com.evil.net would get credentials
        ["set-cors", "cors", "--allow-origin", "prefix:https://app.example.com", "--allow-credentials"],
        "cors.allow_origins[0]: prefix 'https://app.example.com' also matches",
    ),
    (
        "cors-prefix-short-creds",
        ["set-cors", "cors", "--allow-origin", "prefix:https://a", "--allow-credentials"],
        "cors.allow_origins[0]",
    ),
    (
        "cors-regex-unanchored-creds",
        ["set-cors", "cors", "--allow-origin", r"regex:https://app\.example\.com.*", "--allow-credentials"],
        "cors.allow_origins[0]",
    ),
    (
        "cors-wildcard-creds",
        ["set-cors", "cors", "--allow-origin", "*", "--allow-credentials"],
        "cors.allow_credentials",
    ),
    (
        "cors-null-creds",
        ["set-cors", "cors", "--allow-origin", "null", "--allow-credentials"],
        "allow_origins[0]",
    ),
    (
        "cors-regex-scheme-creds",
        ["set-cors", "cors", "--allow-origin", "regex:https?://.+", "--allow-credentials"],
        "allow_origins[0]",
    ),
    ("cors-lookahead", ["set-cors", "cors", "--allow-origin", "regex:https://(?=a).*"], "allow_origins[0]"),
    ("cors-backref", ["set-cors", "cors", "--allow-origin", r"regex:https://(\w+)\.\1"], "allow_origins[0]"),
    ("cors-repeat-1001", ["set-cors", "cors", "--allow-origin", "regex:https://a{1001}"], "allow_origins[0]"),
    ("cors-regex-empty", ["set-cors", "cors", "--allow-origin", "regex:"], "allow_origins[0]"),
    (
        "cors-regex-big",
        ["set-cors", "cors", "--allow-origin", "regex:https://(ab|cd){30}"],
        "allow_origins[0]",
    ),
    ("cors-ftp", ["set-cors", "cors", "--allow-origin", "ftp://a.example"], "allow_origins[0]"),
    ("cors-path", ["set-cors", "cors", "--allow-origin", "https://a.example/x"], "allow_origins[0]"),
    ("cors-prefix-empty", ["set-cors", "cors", "--allow-origin", "prefix:"], "allow_origins[0]"),
    (
        "cors-method",
        ["set-cors", "cors", "--allow-origin", "https://a.example", "--allow-method", "FETCH"],
        "allow_methods",
    ),
    (
        "cors-header",
        ["set-cors", "cors", "--allow-origin", "https://a.example", "--allow-header", "x y"],
        "allow_headers",
    ),
    (
        "cors-header-crlf",
        ["set-cors", "cors", "--allow-origin", "https://a.example", "--allow-header", "x\r\ny"],
        "allow_headers",
    ),
    (
        "cors-expose",
        ["set-cors", "cors", "--allow-origin", "https://a.example", "--expose-header", "a:b"],
        "expose_headers",
    ),
    (
        "cors-max-age-text",
        ["set-cors", "cors", "--allow-origin", "https://a.example", "--max-age", "long"],
        "--max-age",
    ),
    (
        "cors-max-age-huge",
        ["set-cors", "cors", "--allow-origin", "https://a.example", "--max-age", "99999999999h"],
        "max_age",
    ),
    (
        "cors-remove-and-origin",
        ["set-cors", "cors", "--remove", "--allow-origin", "https://a.example"],
        "--remove takes no",
    ),
    ("cors-nothing", ["set-cors", "cors"], "give --allow-origin"),
    ("up-name-dotdot", ["up", "CONFIG", "--name", "../.."], "--name: '../..'"),
    ("up-name-traversal", ["up", "CONFIG", "--name", "../../../tmp/x"], "--name: '../../../tmp/x'"),
    ("up-name-empty", ["up", "CONFIG", "--name", ""], "--name: ''"),
    ("up-name-slash", ["up", "CONFIG", "--name", "a/b"], "--name: 'a/b'"),
    ("up-name-dot", ["up", "CONFIG", "--name", "."], "--name: '.'"),
    ("up-name-absolute", ["up", "CONFIG", "--name", "/tmp"], "--name: '/tmp'"),
    ("up-name-space", ["up", "CONFIG", "--name", "a b"], "--name: 'a b'"),
    ("up-missing-file", ["up", "/nonexistent/gateway.yaml"], "no config file at /nonexistent/gateway.yaml"),
    ("up-directory", ["up", "/tmp"], "no config file at /tmp"),
    ("down-traversal", ["down", "../.."], "no gateway named '../..'"),
]
NO_GATEWAY = ("up", "down")


def _hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"


def fingerprint(gw: NativeConnector) -> dict[str, str]:
    dump = json.dumps(gw.admin.config_dump(), sort_keys=True).encode()
    return {
        "yaml": _hash(gw.config_path),
        "history": _hash(gw.state_dir / "history.jsonl"),
        "audit": _hash(state_dir() / "audit.jsonl"),
        "config_dump": hashlib.sha256(dump).hexdigest(),
        "gateways": " ".join(sorted(p.name for p in (state_dir() / "gateways").iterdir())),
    }


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    before = fingerprint(shared_native_gateway)
    yield shared_native_gateway
    assert fingerprint(shared_native_gateway) == before, "a refused input changed something"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    start = time.monotonic()
    rc = main(argv)
    elapsed = time.monotonic() - start
    out, err = capsys.readouterr()
    assert elapsed < 5, f"took {elapsed:.1f}s to refuse"
    assert "Traceback" not in out + err and "internal error" not in err
    return rc, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_a_bad_command_is_refused_with_one_line_naming_the_field(
    gw: NativeConnector, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(gw.config_path) if a == "CONFIG" else a for a in argv]
    if argv[0] not in NO_GATEWAY:
        argv += ["--gateway", str(gw.state_dir)]
    rc, err = _run(argv, capsys)
    assert rc != 0
    assert expected in _one_line(err)


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_a_bad_gateway_file_is_refused_with_one_line_naming_the_field(
    gw: NativeConnector, text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    rc, err = _run(["up", str(path), "--state-dir", str(tmp_path / "state")], capsys)
    assert rc != 0
    assert expected in _one_line(err)
    assert not (tmp_path / "state").exists()
    assert not Path("/tmp/x").exists() or Path("/tmp/x").stat().st_mtime < time.time() - 60


def test_a_file_over_the_size_cap_is_refused_without_reading_it_all(
    gw: NativeConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.write(b"name: big\n")
        fh.truncate(40 * 1024 * 1024)  # sparse: 40 MB of NUL bytes
    rc, err = _run(["up", str(path)], capsys)
    assert rc != 0 and "larger than 32 MB" in _one_line(err)


def test_the_catalogue_has_at_least_150_inputs() -> None:
    assert len(CLI_CASES) + len(YAML_CASES) >= 150
    for ids in ([c[0] for c in CLI_CASES], [c[0] for c in YAML_CASES]):
        assert len(ids) == len(set(ids))


def test_a_bomb_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    from connectors.errors import ConfigSyntaxError
    from connectors.native.config_file import ConfigFile
    from tests.bad_inputs import BILLION_LAUGHS

    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS.encode()) < 700
    start = time.process_time()
    with pytest.raises(ConfigSyntaxError, match="aliases expand"):
        ConfigFile.load(path)
    assert time.process_time() - start < 0.5


def test_listening_beyond_loopback_is_accepted_with_a_plan_warning(gw: NativeConnector) -> None:
    from dataclasses import replace

    from connectors.model import Listener
    from connectors.native.process import free_port

    model = gw.gateway()
    wide = replace(model, listeners=(*model.listeners, Listener("wide", free_port(), "0.0.0.0")))
    plan = gw.plan_gateway(wide)  # planned, never applied: the fixture checks nothing changed
    assert any("listens beyond loopback" in w for w in plan.warnings)
    assert not any("beyond loopback" in w for w in gw.plan_gateway(model).warnings)


def test_up_on_a_secret_file_echoes_none_of_its_lines(
    gw: NativeConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$salt$SECRETHASH:19000:0:99999:7:::\nalice:$6$x$OTHERSECRET:19000::::::\n")
    rc, err = _run(["up", str(secret)], capsys)
    assert rc != 0 and "SECRETHASH" not in err and "alice" not in err
