"""Cluster access for the Kubernetes connectors: contexts, CRD discovery, credentials, RBAC, and how
API server failures (403, 404, 422, 5xx, timeouts) reach the operator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from connectors.base import Connector
from connectors.change import Change
from connectors.errors import ChangeRejected, ConnectionFailed, NotFound, PermissionDenied, ValidationError
from connectors.kube import open_cluster
from connectors.kube.connector import KubeConnector
from connectors.kube.contexts import list_contexts
from connectors.model import Cors, RateLimit, StringMatch
from connectors.model.edits import set_cors, set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator, Rule
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
    vs,
    writes,
)


def _kubeconfig(path: Path, current: str, contexts: list[tuple[str, str, str | None]]) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "clusters": [
                    {"name": c, "cluster": {"server": f"https://{c}.example:6443"}} for _, c, _ in contexts
                ],
                "users": [{"name": f"{n}-user", "user": {"token": f"secret-{n}"}} for n, _, _ in contexts],
                "contexts": [
                    {
                        "name": n,
                        "context": {"cluster": c, "user": f"{n}-user", **({"namespace": ns} if ns else {})},
                    }
                    for n, c, ns in contexts
                ],
            }
        )
    )
    return path


def test_contexts_merge_kubeconfig_files_as_kubectl_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _kubeconfig(tmp_path / "a", "prod", [("prod", "big", "shop"), ("dev", "small", None)])
    second = _kubeconfig(tmp_path / "b", "dev", [("dev", "other", "ignored"), ("stage", "mid", "web")])
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    contexts = list_contexts()
    # The first file to set current-context wins; the first definition of a name wins; current first.
    assert [(c.name, c.cluster, c.namespace, c.current) for c in contexts] == [
        ("prod", "big", "shop", True),
        ("dev", "small", "default", False),
        ("stage", "mid", "web", False),
    ]
    assert "secret" not in repr(contexts)


def test_the_flavour_follows_the_crds_the_cluster_serves(
    kube_emulator_factory: Callable[..., KubeEmulator], tmp_path: Path, kube_state: Path
) -> None:
    def kind_of(crds: tuple[str, ...], flavour: str | None = None) -> str:
        emu = kube_emulator_factory(crds=crds)
        connector = open_cluster(
            kubeconfig=str(emu.write_kubeconfig(tmp_path / f"kc-{len(crds)}")), flavour=flavour
        )
        connector.close()
        return connector.kind

    assert kind_of(("istio",)) == "istio"
    assert kind_of(("gateway-api", "envoy-gateway")) == "envoygateway"
    assert kind_of(("gateway-api",)) == "gatewayapi"
    assert kind_of(("istio", "gateway-api"), flavour="gatewayapi") == "gatewayapi"

    with pytest.raises(NotFound) as none:
        kind_of(())
    for group in ("networking.istio.io", "gateway.networking.k8s.io", "gateway.envoyproxy.io"):
        assert group in str(none.value)
    with pytest.raises(NotFound, match=r"lacks the CRDs .*gateway\.envoyproxy\.io"):
        kind_of(("gateway-api",), flavour="envoygateway")


def test_istio_without_envoyfilter_greys_out_rate_limits_with_the_reason(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.uninstall_crds("EnvoyFilter")
    caps = connect().capabilities()
    assert caps.can("weights") and not caps.can("rate_limit")
    assert "envoyfilters.networking.istio.io is not served" in caps.why_not("rate_limit")


def test_read_only_user_sees_greyed_capabilities_and_gets_a_clear_403(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect(context="emulator-readonly")
    caps = connector.capabilities()
    assert caps.editable == frozenset() and caps.can_export
    assert caps.why_not("weights") == (
        "RBAC: user readonly cannot patch virtualservices.networking.istio.io in namespace default"
    )
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 0, "reviews/v2": 100})]
    )
    with pytest.raises(PermissionDenied) as denied:
        Change(connector).apply(plan)
    # After planning: exactly the object the plan writes.
    assert "user readonly cannot patch virtualservices.networking.istio.io default/reviews" in str(
        denied.value
    )
    assert writes(kube_emulator) == []
    assert vs(kube_emulator, "reviews")["spec"]["http"][0]["route"][0]["weight"] == 80


def test_a_user_who_may_edit_routes_but_not_filters(
    kube_emulator: KubeEmulator, tmp_path: Path, kube_state: Path
) -> None:
    kube_emulator.add_user(
        "alice",
        token="alice-token",
        rules=(
            Rule(verbs=("get", "list", "watch")),
            Rule(verbs=("patch",), api_groups=("networking.istio.io",), resources=("virtualservices",)),
        ),
    )
    kubeconfig = kube_emulator.write_kubeconfig(tmp_path / "kc", users=("alice",))
    connector = open_cluster("emulator-alice", kubeconfig=str(kubeconfig))
    try:
        caps = connector.capabilities()
        assert caps.editable == frozenset({"weights", "cors", "fault"})  # faults live in the VirtualService
        assert caps.why_not("rate_limit") == (
            "RBAC: user alice cannot create/patch/delete envoyfilters.networking.istio.io "
            "in namespace default"
        )
        assert connector.info().details["user"] == "alice"
    finally:
        connector.close()


def test_missing_routes_and_objects_deleted_meanwhile_are_not_found(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    route = connector.get_route("reviews-0")
    with pytest.raises(NotFound, match="no route named 'nope'"):
        connector.get_route("nope")
    kube_emulator.delete_object("networking.istio.io", "virtualservices", "default", "reviews")
    with pytest.raises(NotFound, match="VirtualService default/reviews was deleted"):
        connector.plan([set_weights(route, {"reviews/v1": 50, "reviews/v2": 50})])


def test_the_api_servers_field_errors_are_listed(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "envoy-gateway/quickstart.yaml")
    connector = connect(flavour="gatewayapi")
    origins = tuple(StringMatch("exact", f"https://app{i}.example.com") for i in range(65))
    plan = connector.plan([set_cors(connector.get_route("backend-0"), Cors(allow_origins=origins))])
    with pytest.raises(ChangeRejected) as rejected:
        Change(connector).apply(plan)
    message = str(rejected.value)
    assert "HTTPRoute default/backend" in message
    assert "spec.rules[0].filters[0].cors.allowOrigins: Too many: 65: must have at most 64 items" in message


def test_server_errors_are_retried_then_succeed_or_fail_clearly(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    connector.client.backoff = 0.01
    route = connector.get_route("reviews-0")

    kube_emulator.fail_next(2, 503, method="PATCH")
    kube_emulator.reset_log()
    Change(connector).apply(connector.plan([set_weights(route, {"reviews/v1": 60, "reviews/v2": 40})]))
    assert [r.status for r in kube_emulator.requests("PATCH")] == [503, 503, 200]
    assert vs(kube_emulator, "reviews")["spec"]["http"][0]["route"][0]["weight"] == 60

    kube_emulator.fail_next(10, 500, method="PATCH")
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 10, "reviews/v2": 90})]
    )
    with pytest.raises(ConnectionFailed, match=r"kept failing to patch VirtualService default/reviews \(500"):
        Change(connector).apply(plan)
    assert vs(kube_emulator, "reviews")["spec"]["http"][0]["route"][0]["weight"] == 60
    kube_emulator.clear_faults()


def test_a_slow_answer_times_out_and_is_retried(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector = connect()
    # Read timeout 1 s: a busy machine may take more than a few tenths to answer the retry. The slow
    # answer is logged only once it is sent: cut short when the emulator stops, never while counted.
    connector.client.timeout = (1.0, 1.0)
    connector.client.backoff = 0.01
    kube_emulator.delay_next(60.0, path_contains="virtualservices", method="GET")
    assert [r.name for r in connector.list_routes()] == ["reviews-0"]
    assert len(kube_emulator.requests("GET", "virtualservices")) == 2


def test_an_expired_token_says_so(kube_emulator: KubeEmulator, tmp_path: Path, kube_state: Path) -> None:
    token = kube_emulator.add_user("bob", token="bob-token")
    kubeconfig = str(kube_emulator.write_kubeconfig(tmp_path / "kc", users=("bob",)))
    connector = open_cluster("emulator-bob", kubeconfig=kubeconfig)
    try:
        kube_emulator.expire_token(token)
        with pytest.raises(
            PermissionDenied, match=r"refused the credentials of context 'emulator-bob' \(401"
        ):
            connector.list_routes()
        assert "expired" in (connector.health() or "")
    finally:
        connector.close()
    with pytest.raises(PermissionDenied, match="invalid or has expired"):
        open_cluster("emulator-bob", kubeconfig=kubeconfig)


def test_an_unreachable_api_server_is_a_connection_failure(tmp_path: Path, kube_state: Path) -> None:
    emu = KubeEmulator().start()
    kubeconfig = str(emu.write_kubeconfig(tmp_path / "kc"))
    emu.stop()  # nothing listens on that port any more
    with pytest.raises(ConnectionFailed, match="did not answer after 4 attempts"):
        open_cluster(kubeconfig=kubeconfig)


def test_read_only_mode_refuses_to_apply(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    connector: Connector = connect(readonly=True)
    assert connector.capabilities().editable == frozenset()
    assert isinstance(connector, KubeConnector)
    plan = connector.plan(
        [set_weights(connector.get_route("reviews-0"), {"reviews/v1": 0, "reviews/v2": 100})]
    )
    with pytest.raises(PermissionDenied, match="read-only"):
        Change(connector).apply(plan)
    assert json.dumps(vs(kube_emulator, "reviews")["spec"]).count('"weight": 80') == 1


def test_rate_limit_edit_needs_the_envoyfilter_crd(kube_emulator: KubeEmulator, connect: Connect) -> None:
    load(kube_emulator, "istio/virtual-service-reviews-80-20.yaml")
    kube_emulator.uninstall_crds("EnvoyFilter")
    connector = connect()
    with pytest.raises(ValidationError, match=r"envoyfilters\.networking\.istio\.io is not served"):
        connector.plan([set_rate_limit(connector.get_route("reviews-0"), RateLimit(1, 1.0))])


def test_in_cluster_without_a_service_account_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kube_state: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    with pytest.raises(ConnectionFailed, match="in-cluster configuration is incomplete"):
        open_cluster()
