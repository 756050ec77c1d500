"""Small defects a cold tester found on a real native gateway: each refused in one line naming what is
wrong (nothing changed), or said once and right.

- ``--interval 1h30m20s999ms``: the YAML says the duration Envoy is given, not a rounded one;
- ``v1=٩٠``: weights (and durations) take ASCII digits only;
- ``retry_on: [5xxx]``: refused by ``up`` against Envoy's list of retry conditions;
- ``bundle -o /nonexistent/dir/x.tar.gz``: refused, no folder made; a broken YAML still gives a bundle;
- ``triage --by 'x user'`` / CRLF / a header that is not logged: one line;
- ``deny --lift`` of a client the route does not deny: says so, exit 1;
- a CRLF in an origin: "contains a control character";
- a YAML with wrong types and other problems: every problem at once;
- ``match --send``: the answer said once.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.http_client import http_client
from connectors.native import NativeConnector
from tests.crash_support import served
from tests.native_support import DemoBackends, JwtSigner, write_native_config
from tests.test_cli import cli_process
from tui.cli import main


@pytest.fixture
def gw(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    yield native_gateway


def run(gw: NativeConnector, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def _fingerprint(gw: NativeConnector) -> tuple[str, int]:
    return hashlib.sha256(gw.config_path.read_bytes()).hexdigest(), len(gw.history())


def test_an_interval_with_milliseconds_is_written_as_envoy_serves_it(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("set-rate-limit", "limited", "--requests", "5", "--interval", "1h30m20s999ms")
    rc, _, err = run(gw, *args, capsys=capsys)
    assert rc == 0, err
    assert "interval: 5420.999s" in gw.config_path.read_text()
    assert served(gw.state_dir)["limited"]["rate_limit"]["fill_interval_s"] == pytest.approx(5420.999)
    rc, _, err = run(gw, "drift", capsys=capsys)
    assert rc == 0, err  # the YAML and what Envoy serves agree


@pytest.mark.parametrize(
    "args",
    [
        ("set-weights", "canary", "v1=\u0669\u0660", "v2=10"),  # Arabic-Indic 90
        ("set-rate-limit", "limited", "--requests", "\u0665"),
        ("set-rate-limit", "limited", "--requests", "5", "--interval", "\u0665s"),
    ],
    ids=["weight", "requests", "interval"],
)
def test_numbers_take_ascii_digits_only(
    gw: NativeConnector, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fingerprint(gw)
    rc, out, err = run(gw, *args, capsys=capsys)
    assert rc == 2 and out == "", (out, err)
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert _fingerprint(gw) == before


def test_up_refuses_an_unknown_retry_condition_naming_it(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    config = write_native_config(tmp_path / "cfg", backends, jwt_signer, name="retries")
    text = config.read_text().replace(
        "    backends: [{name: v1, weight: 100}]\n",
        "    backends: [{name: v1, weight: 100}]\n"
        "    retries: {attempts: 2, retry_on: [5xxx, connect-failur, reset]}\n",
        1,
    )
    config.write_text(text)
    env = {"GATEWAYCTL_STATE_DIR": str(tmp_path / "state")}
    done = cli_process("up", str(config), "--name", "retries", env=env)
    if done.returncode == 0:  # started after all: never leave it running
        cli_process("down", "retries", env=env)
    assert done.returncode == 1, done.stdout
    assert "retries.retry_on[0]: '5xxx' is not a retry condition Envoy knows" in done.stderr
    assert "retries.retry_on[1]: 'connect-failur'" in done.stderr and "connect-failure" in done.stderr
    assert "reset'" not in done.stderr
    assert not (tmp_path / "state" / "gateways" / "retries" / "state.json").exists()


def test_a_bundle_needs_an_existing_folder(
    gw: NativeConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.tar.gz"
    rc, _, err = run(gw, "bundle", "-o", str(target), capsys=capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "does not exist" in err, err
    assert not (tmp_path / "nonexistent").exists()


def test_a_bundle_of_a_gateway_whose_yaml_is_broken_collects_the_rest(
    gw: NativeConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gw.config_path.write_text(gw.config_path.read_text() + "\n  broken: [\n")
    target = tmp_path / "b.tar.gz"
    rc, out, err = run(gw, "bundle", "-o", str(target), capsys=capsys)
    assert rc == 0, err
    assert "not included: native/config.yaml: Invalid YAML" in out
    with tarfile.open(target) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers()}
    assert {"envoy/config_dump.json", "native/xds/lds.json", "access.log", "envoy.log"} <= names


@pytest.mark.parametrize("header", ["x user", "x-a\r\nb", "x-not-logged"])
def test_triage_by_a_header_it_cannot_group_by_is_one_line(
    gw: NativeConnector, header: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(gw, "triage", "--by", header, capsys=capsys)
    assert rc == 2 and out == "", (out, err)
    (line,) = err.splitlines()
    assert line.startswith("error: usage: --by: ")


def test_triage_by_a_logged_header_is_accepted(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:

    with http_client(base_url=gw.listener_url(), timeout=5) as client:
        client.get("/", headers={"host": "v1.test", "x-user-id": "alice"})
    rc, _, err = run(gw, "triage", "--by", "x-user-id", capsys=capsys)
    assert rc == 0, err


def test_lifting_a_deny_rule_that_does_not_exist_says_so(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fingerprint(gw)
    rc, out, err = run(gw, "deny", "canary", "--lift", "x-user-id=nobody", capsys=capsys)
    assert rc == 1, (out, err)
    (line,) = err.splitlines()
    assert line.startswith("error: ") and "canary denies no client x-user-id=nobody" in line
    assert "No change" not in out
    assert _fingerprint(gw) == before


@pytest.mark.parametrize(
    "origin", ["https://a.exa\r\nmple:80", "https://app.example\r\n", "https://a\tb.example"]
)
def test_an_origin_with_a_control_character_is_refused_as_such(
    gw: NativeConnector, origin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _fingerprint(gw)
    rc, out, err = run(gw, "set-cors", "cors", "--allow-origin", origin, capsys=capsys)
    assert rc == 1, (out, err)
    assert "contains a control character" in err and "invalid port" not in err
    assert _fingerprint(gw) == before


def test_a_yaml_with_wrong_types_and_other_problems_lists_them_all_at_once(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    config = write_native_config(tmp_path / "cfg", backends, jwt_signer, name="many")
    text = config.read_text()
    text = text.replace("weight: 90   #", "weight: ninety   #")  # a type problem
    text = text.replace("rate_limit: {requests: 5, interval: 1m, burst: 5}", "rate_limit: {requests: many}")
    text = text.replace("hosts: [v2.test]", "hosts: ['*.*.x']")  # a problem found after the types
    text = text.replace("name: path-v2", "name: ../p")  # and another
    config.write_text(text)
    env = {"GATEWAYCTL_STATE_DIR": str(tmp_path / "state")}
    done = cli_process("up", str(config), "--name", "many", env=env)
    if done.returncode == 0:  # started after all: never leave it running
        cli_process("down", "many", env=env)
    assert done.returncode == 1
    assert "routes[4].backends[0].weight" in done.stderr and "routes[5].rate_limit.requests" in done.stderr
    assert "routes[1].hosts[0]: '*.*.x'" in done.stderr and "routes[2].name: '../p'" in done.stderr
    assert "weights sum to" not in done.stderr  # no problem made up from a value that did not read


def test_match_send_says_who_answered_once(gw: NativeConnector, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(gw, "match", "--host", "v1.test", "--send", capsys=capsys)
    assert rc == 0, err
    (sent,) = [line for line in out.splitlines() if line.startswith("Sent:")]
    assert sent.count("from the backend v1") == 1, sent
