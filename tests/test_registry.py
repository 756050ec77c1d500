"""The connector registry: connectors found through their entry points, targets resolved and opened
without the caller naming a connector, and the metrics contract that picks a source by what a
gateway offers (not by its kind)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors import registry
from connectors.errors import NotFound
from connectors.metrics import MetricsHooks, metrics_for
from connectors.metrics_contract import Measured

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_entry_points_give_the_native_and_kube_factories_in_listing_order() -> None:
    kinds = [f.kind for f in registry.factories()]
    assert kinds == ["native", "kube"]
    assert registry.factory("kube").connector_kinds == ("istio", "envoygateway", "gatewayapi")
    flags = [flag for option in registry.cli_options() for flag in option.flags]
    assert flags == ["--gateway", "--context", "-n", "--namespace"]
    with pytest.raises(NotFound, match="no connector for targets of kind 'nginx'"):
        registry.factory("nginx")


def test_resolving_what_an_operator_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path))
    gw = tmp_path / "gateways" / "edge"
    gw.mkdir(parents=True)
    (gw / "state.json").write_text(json.dumps({"name": "edge-gw", "config": "/nowhere.yaml"}))

    by_name = registry.resolve("edge-gw")
    assert (by_name.kind, by_name.location) == ("native", str(gw))
    assert registry.resolve("edge") == by_name  # the state directory's name works too
    assert registry.resolve(str(gw)).location == str(gw)
    ctx = registry.resolve("ctx:prod/shop")
    assert (ctx.kind, ctx.location, ctx.namespace, ctx.key) == ("kube", "prod", "shop", "kube:prod/shop")
    current = registry.resolve("ctx:/shop")  # a namespace in kubectl's current context
    assert (current.location, current.namespace) == ("", "shop")
    with pytest.raises(NotFound, match=rf"no gateway named 'nope' \(native gateways live in {tmp_path}"):
        registry.resolve("nope")
    assert [t.name for t in registry.lifecycle().targets()] == ["edge-gw"]
    assert registry.lifecycle_for(ctx) is None  # this tool does not start cluster gateways


def test_a_native_gateway_that_is_not_running_shows_stopped_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path))
    gw = tmp_path / "gateways" / "gone"
    gw.mkdir(parents=True)
    state = {"name": "gone", "config": "/nowhere.yaml", "admin_url": "http://127.0.0.1:1"}
    (gw / "state.json").write_text(json.dumps(state))
    target = registry.resolve("gone")
    life = registry.lifecycle_for(target)
    assert life is not None
    status = life.status(target)
    assert not status.running and "/nowhere.yaml" in status.reason
    assert status.admin_url == "http://127.0.0.1:1"


class _Offers:
    """A gateway as the metrics contract sees it: only what it offers."""

    def __init__(self, hooks: MetricsHooks) -> None:
        self.hooks = hooks

    def metrics_hooks(self) -> MetricsHooks:
        return self.hooks


def test_the_metrics_source_follows_what_the_gateway_offers() -> None:
    assert isinstance(_Offers(MetricsHooks()), Measured)
    assert metrics_for(_Offers(MetricsHooks())) is None  # a cluster gateway without Prometheus
    source = metrics_for(_Offers(MetricsHooks(admin_url=lambda: "http://127.0.0.1:1")))
    assert source is not None and source.name == "envoy-admin"
    source.close()


def test_listing_targets_loads_no_connector_and_no_http_client() -> None:
    code = (
        "import sys\n"
        "from connectors import registry\n"
        "registry.discover_targets(); registry.cli_options()\n"
        "heavy = ('connectors.native.connector', 'connectors.kube.connector', 'connectors.metrics', "
        "'httpx', 'kubernetes')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
