"""``set-fault`` on a native gateway, through a real Envoy: a 100% abort 503 answers clients 503, a
100% delay of 200ms holds each request at least 200 ms, on that route only; Envoy's fault filter is in
the listener only while a route injects a fault; undo restores the YAML exactly; bad input is one line
naming the field and changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import yaml

from connectors.change import Change
from connectors.http_client import http_client
from connectors.native import NativeConnector
from connectors.native.render_fault import FAULT_FILTER
from tests.native_support import (  # noqa: F401 - fixtures
    backends,
    jwt_signer,
    shared_native_gateway,
)
from tui.cli import main


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:  # noqa: F811
    before = shared_native_gateway.gateway()
    yield shared_native_gateway
    if shared_native_gateway.gateway() != before:
        Change(shared_native_gateway).apply(shared_native_gateway.plan_gateway(before))


def cli(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def get(gw: NativeConnector, host: str) -> tuple[int, float]:
    """(status, seconds) of one request to ``host``."""
    with http_client(base_url=gw.listener_url(), timeout=10) as c:
        started = time.monotonic()
        status = c.get("/", headers={"host": host}).status_code
        return status, time.monotonic() - started


def listener_filters(gw: NativeConnector) -> list[str]:
    lds = json.loads((gw.state_dir / "xds" / "lds.json").read_text())
    hcm = lds["resources"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return [f["name"] for f in hcm["http_filters"]]


def test_a_100_percent_abort_answers_503_on_that_route_only_and_undo_restores_the_file(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml_before = gw.config_path.read_bytes()
    assert FAULT_FILTER not in listener_filters(gw)
    rc, out, err = cli(gw, capsys, "set-fault", "host-v1", "--abort", "503", "--abort-percent", "100")
    assert rc == 0, err
    assert "Plan: host-v1: fault none→abort 503 on 100%" in out
    assert "Verification: verified" in out and "host-v1: fault abort 503 on 100%" in out
    assert listener_filters(gw)[0] == FAULT_FILTER  # first, as Istio and Envoy Gateway place it
    assert [get(gw, "v1.test")[0] for _ in range(5)] == [503] * 5
    assert get(gw, "v2.test")[0] == 200  # another route: untouched
    written = yaml.safe_load(gw.config_path.read_text())["routes"]
    assert next(r for r in written if r["name"] == "host-v1")["fault"] == {
        "abort_status": 503,
        "abort_percent": 100,
    }

    rc, out, err = cli(gw, capsys, "undo")
    assert rc == 0, err
    assert get(gw, "v1.test")[0] == 200
    assert gw.config_path.read_bytes() == yaml_before
    assert FAULT_FILTER not in listener_filters(gw), "the filter goes with the last fault"


def test_a_100_percent_delay_of_200ms_holds_every_request_that_long(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(gw, capsys, "set-fault", "host-v2", "--delay", "200ms")
    assert rc == 0, err
    timings = [get(gw, "v2.test") for _ in range(3)]
    # Envoy's timers tick in milliseconds: measured 0.199-0.221 s here, never less than 0.198 s.
    assert all(status == 200 and seconds >= 0.198 for status, seconds in timings), timings
    route = gw.gateway().route("host-v2")
    assert route.fault is not None and (route.fault.delay, route.fault.delay_percent) == (0.2, 100.0)

    # Only the parts named change: an abort added now keeps the delay; "--delay off" drops it.
    rc, out, err = cli(gw, capsys, "set-fault", "host-v2", "--abort", "502", "--abort-percent", "0")
    assert rc == 0, err
    assert "delay 200ms on 100%, abort 502 on 0%" in out
    rc, out, err = cli(gw, capsys, "set-fault", "host-v2", "--delay", "off")
    assert rc == 0, err
    assert "fault delay 200ms on 100%, abort 502 on 0%→abort 502 on 0%" in out
    rc, out, err = cli(gw, capsys, "set-fault", "host-v2", "--remove")
    assert rc == 0, err
    assert gw.gateway().route("host-v2").fault is None
    assert min(get(gw, "v2.test")[1] for _ in range(3)) < 0.15  # the delay is gone


def test_dry_run_shows_the_listener_gaining_the_filter_and_applies_nothing(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    before = gw.config_path.read_bytes()
    rc, out, err = cli(
        gw,
        capsys,
        "set-fault",
        "canary",
        "--delay",
        "1s",
        "--delay-percent",
        "12.5",
        "--dry-run",
        "--show-native",
    )
    assert rc == 0, err
    assert "Dry run: nothing applied." in out
    assert "listeners/main/fault filter (LDS)" in out and '"numerator": 125000' in out
    assert gw.config_path.read_bytes() == before and gw.gateway().route("canary").fault is None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give --delay DURATION, --abort STATUS"),
        (["--abort", "600"], "fault.abort_status: must be an HTTP status 200-599, got 600"),
        (["--abort", "199"], "200-599"),
        (["--abort", "teapot"], "--abort: expected an HTTP status"),
        (
            ["--abort", "503", "--abort-percent", "101"],
            "fault.abort_percent: must be a percentage from 0 to 100",
        ),
        (["--abort", "503", "--abort-percent", "-1"], "must be a percentage from 0 to 100"),
        (["--abort", "503", "--abort-percent", "half"], "--abort-percent: expected a percentage"),
        (["--delay", "0s"], "fault.delay: must be longer than 0"),
        (["--delay", "soon"], "--delay: expected a duration"),
        (["--delay", "1s", "--delay-percent", "0.00001"], "at most 4 decimals"),
        (["--delay-percent", "10"], "the route has no delay: give --delay with --delay-percent"),
        (["--remove", "--delay", "1s"], "--remove takes no --delay"),
    ],
)
def test_bad_fault_input_is_one_line_naming_the_field_and_nothing_is_applied(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    before = gw.config_path.read_bytes()
    history = len(gw.history())
    rc, _out, err = cli(gw, capsys, "set-fault", "host-v1", *args)
    assert rc in (1, 2) and err.startswith("error: ") and err.count("\n") == 1, err
    assert says in err and "Traceback" not in err
    assert gw.config_path.read_bytes() == before and len(gw.history()) == history


GATEWAY_FILE = """
listeners: [{name: main, port: 10000}]
backends: [{name: v1, endpoints: ['127.0.0.1:1']}]
routes:
- name: r
  backends: [{name: v1, weight: 100}]
  fault: {delay: 50ms, delay_percent: 2.5, abort_status: 503, abort_percent: 1}
"""


def test_a_gateway_file_with_a_fault_reads_it_and_a_bad_one_is_refused_with_the_field() -> None:
    from connectors.model import Fault, gateway_from_dict
    from connectors.model.validate import gateway_problems

    gateway = gateway_from_dict(yaml.safe_load(GATEWAY_FILE))
    assert gateway.route("r").fault == Fault(0.05, 2.5, 503, None, 1.0)
    assert gateway_problems(gateway) == []
    bad = gateway_from_dict(yaml.safe_load(GATEWAY_FILE.replace("abort_status: 503", "abort_status: 700")))
    assert [str(p) for p in gateway_problems(bad)] == [
        "routes[0].fault.abort_status: must be an HTTP status 200-599, got 700"
    ]
