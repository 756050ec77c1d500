"""``bundle``: a support bundle of a real native gateway holds the model, the config, Envoy's
config_dump and stats, logs, history and audit — and none of the secrets planted in the config, the
traffic and the history (each checked to be really present in the sources first). Mode 0600."""

from __future__ import annotations

import json
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.change import Change
from connectors.http_client import http_client
from connectors.metrics.clients import client_label
from connectors.model import HeaderOps, HeaderRewrite, Route, WeightedBackend
from connectors.native import NativeConnector
from connectors.native.process import free_port
from tests.native_support import DemoBackends, JwtSigner, start_native_gateway
from tests.waiting import wait_until
from tui.cli import main

BASIC = "PLANTEDbasic9f2c"
API_KEY = "PLANTED-apikey-77a1"
MATCH = "PLANTEDmatch31x"
COMMENT = "PLANTED-comment-secret"
QUERY = "PLANTEDquery5512"
HISTORY = "PLANTEDhistory0042"

CONFIG = """\
name: bundle-gw
# ops note: the old admin password: {comment}
listeners: [{{name: main, address: 127.0.0.1, port: {port}}}]
backends: [{{name: v1, endpoints: ["{v1}"]}}]
routes:
  - name: secure
    hosts: [secure.test]
    backends: [v1]
    jwt:
      providers: [{{name: idp, issuer: https://idp.test, jwks: '{jwks}'}}]
  - name: internal
    hosts: [internal.test]
    match:
      prefix: /
      headers: [{{name: authorization, exact: "Bearer {match}"}}]
    backends: [v1]
    headers:
      request:
        set: {{authorization: "Basic {basic}", x-api-key: "{api_key}"}}
  - name: open
    hosts: [open.test]
    backends: [v1]
"""


@pytest.fixture(scope="module")
def private_jwk() -> dict[str, str]:
    """A whole private RSA key as a JWK: pasting one instead of the public key is a real mistake."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data: dict[str, str] = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key))
    return {**data, "kid": "k1", "alg": "RS256"}


@pytest.fixture(scope="module")
def gw(
    tmp_path_factory: pytest.TempPathFactory, backends: DemoBackends, private_jwk: dict[str, str]
) -> Iterator[NativeConnector]:
    root = tmp_path_factory.mktemp("bundle")
    config = root / "bundle.yaml"
    jwks = json.dumps({"keys": [private_jwk]})
    config.write_text(
        CONFIG.format(
            port=free_port(),
            v1=backends.v1.address,
            jwks=jwks,
            comment=COMMENT,
            match=MATCH,
            basic=BASIC,
            api_key=API_KEY,
        ),
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEWAYCTL_STATE_DIR", str(root / "state"))
        gateway = start_native_gateway(config, root / "state", access_log_headers=("x-user-id", "x-api-key"))
        yield gateway
        gateway.close()
        gateway.stop()


def _planted(gw: NativeConnector, jwt_signer: JwtSigner) -> str:
    """Traffic and a change carrying secrets; returns a real bearer token that was sent."""
    token = jwt_signer.token()
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        for _ in range(3):
            c.get(
                f"/x?access_token={QUERY}&page=2",
                headers={"host": "open.test", "authorization": f"Bearer {token}"},
            )
            c.get(f"/t/{token}", headers={"host": "open.test", "x-user-id": f"Bearer {token}"})
    model = gw.gateway()
    extra = Route(
        "added",
        (WeightedBackend("v1", 100),),
        hosts=("added.test",),
        headers=HeaderRewrite(request=HeaderOps(set=(("authorization", f"Basic {HISTORY}"),))),
    )
    Change(gw).apply(gw.plan_gateway(replace(model, routes=(*model.routes, extra))))
    wait_until(
        lambda: gw.access_log_path.read_text().count(token) == 6, 15, what="the access log to be flushed"
    )
    return token


def _read_all(path: Path) -> dict[str, str]:
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        assert all(m.mode & 0o777 == 0o600 for m in members)
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode() for m in members if m.isfile()}  # type: ignore[union-attr]


def test_the_bundle_holds_what_helps_and_no_planted_secret(
    gw: NativeConnector,
    jwt_signer: JwtSigner,
    private_jwk: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = _planted(gw, jwt_signer)
    secrets = [BASIC, API_KEY, MATCH, COMMENT, QUERY, HISTORY, token, gw._state.probe_token]
    secrets += [private_jwk[k] for k in ("d", "p", "q", "dp", "dq", "qi")]
    # the secrets really are in what the bundle is made from (so this test can fail)
    sources = (
        gw.config_path.read_text()
        + gw.access_log_path.read_text()
        + (gw.state_dir / "history.jsonl").read_text()
    )
    sources += json.dumps(gw.admin.config_dump()) + (gw.state_dir / "state.json").read_text()
    for s in secrets:
        assert s in sources, s[:12]

    target = tmp_path / "support.tar.gz"  # the folder must exist: a bundle makes none
    capsys.readouterr()
    assert main(["bundle", "--since", "1h", "-o", str(target), "--gateway", str(gw.state_dir)]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    files = _read_all(target)
    everything = "\n".join(files.values())
    for s in secrets:
        assert everything.count(s) == 0, f"secret {s[:12]}... found in the bundle"

    expected = {
        "manifest.json",
        "gateway.json",
        "model/routes.json",
        "model/gateway.json",
        "native/config.yaml",
        "native/state.json",
        "native/xds/lds.json",
        "native/xds/cds.json",
        "envoy/config_dump.json",
        "envoy/stats.json",
        "envoy/clusters.json",
        "envoy/server_info.json",
        "access.log",
        "envoy.log",
        "history.jsonl",
        "audit.jsonl",
    }
    assert expected <= set(files)
    manifest = json.loads(files["manifest.json"])
    assert manifest["missing"] == {}
    # what helps is still there: routes, public key, traffic lines, the change
    assert (
        "internal.test" in files["envoy/config_dump.json"] and private_jwk["n"] in files["native/config.yaml"]
    )
    assert files["access.log"].count("open.test") == 6
    assert "added" in files["history.jsonl"] and "added" in files["audit.jsonl"]
    assert "cluster.open~v1.upstream_rq_total" in files["envoy/stats.json"]


def test_bad_bundle_arguments_are_one_line(
    gw: NativeConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "there.tar.gz"
    existing.write_text("keep me")
    for args in (
        ["-o", str(existing)],
        ["-o", str(tmp_path / "b.tar.gz"), "--since", "soon"],
        ["-o", str(tmp_path / "b.zip")],
    ):
        capsys.readouterr()
        assert main(["bundle", *args, "--gateway", str(gw.state_dir)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: usage: ") and err.count("\n") == 1
    assert existing.read_text() == "keep me" and not (tmp_path / "b.tar.gz").exists()


KEY_LIKE_IDS = (
    "sk_live_PLANTUSERKEY12345678",
    "ghp_PLANTgh0123456789abcdefGHIJ",
    "AKIAPLANT0123456789X",
    "xoxb-PLANT-2024-abcdef",
    "Zq8PLANTr4nd0mT0k3nV4lu3XyZ9",
)


def test_key_like_client_ids_are_shortened_in_the_access_log(
    gw: NativeConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client id that looks like a key (sk_/ghp_/AKIA/xox… prefixes, a long random token) is kept
    in the bundle's access log the way triage shows it: its first characters and a hash. A plain
    client id stays whole (it helps and is no secret)."""
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        for value in (*KEY_LIKE_IDS, "alice-42"):
            c.get("/k", headers={"host": "open.test", "x-user-id": value})
    log = gw.access_log_path
    wait_until(lambda: all(v in log.read_text() for v in KEY_LIKE_IDS), 15, what="the access log")

    target = tmp_path / "ids.tar.gz"
    assert main(["bundle", "--since", "1h", "-o", str(target), "--gateway", str(gw.state_dir)]) == 0
    access = _read_all(target)["access.log"]
    for value in KEY_LIKE_IDS:
        assert value not in access, f"{value[:8]}… whole in the bundle"
        assert client_label("x-user-id", value) in access, f"{value[:8]}… not shortened as triage does"
    assert '"x-user-id": "alice-42"' in access
