"""A Prometheus that refuses, errs, has nothing, is slow or restarts: the source says why in one line,
answers promptly and recovers by itself. Real Prometheus scraping a real native gateway."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from connectors.demo.prometheus import PrometheusProcess
from connectors.metrics import GATEWAY, PrometheusConfig, Scope, metrics_for
from connectors.native import NativeConnector
from tests.prometheus_support import AuthProxy, Traffic, admin_target, require_prometheus
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def scraped(prometheus: PrometheusProcess, shared_native_gateway: NativeConnector) -> Iterator[str]:
    """``prometheus`` scraping the shared gateway, with some traffic recorded; the instance label."""
    target = admin_target(shared_native_gateway.stats_url)
    prometheus.set_targets([target])
    source = metrics_for(shared_native_gateway, prometheus=PrometheusConfig(prometheus.url, rate_window="5s"))
    assert source is not None
    with Traffic(shared_native_gateway.listener_url(), "canary.test", 20):
        wait_until(
            lambda: source.snapshot().routes.get("canary"),
            timeout=20,
            what="Prometheus to scrape the gateway",
        )
    source.close()
    yield target


def test_credentials_refused_then_accepted_through_an_auth_proxy(
    shared_native_gateway: NativeConnector, auth_proxy: AuthProxy, scraped: str
) -> None:
    anonymous = metrics_for(
        shared_native_gateway, prometheus=PrometheusConfig(auth_proxy.url, rate_window="5s")
    )
    assert anonymous is not None
    snap = anonymous.snapshot()
    assert not snap.ok and snap.routes == {}
    assert "refused the request (401 Unauthorized): check the credentials" in snap.status
    assert snap.status.startswith("no data since ")
    chart = anonymous.series(Scope("canary"), 300)
    assert not chart.ok and "401" in chart.status and all(v is None for v in chart.values("rps"))
    anonymous.close()

    headers = {"Authorization": f"Bearer {auth_proxy.token}"}
    config = PrometheusConfig(auth_proxy.url, headers=headers, rate_window="5s")
    authorised = metrics_for(shared_native_gateway, prometheus=config)
    assert authorised is not None
    snap = authorised.snapshot()
    assert snap.ok and "canary" in snap.routes
    assert str(auth_proxy.token) not in repr(snap) and authorised.status() == "ok"
    authorised.close()


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ('job=~"("', "Prometheus rejected the query: "),
        ('job="not-this-gateway"', 'no envoy_cluster_upstream_rq_xx series matching job="not-this-gateway"'),
    ],
)
def test_a_promql_error_or_an_empty_result_reads_as_its_reason(
    shared_native_gateway: NativeConnector,
    prometheus: PrometheusProcess,
    scraped: str,
    selector: str,
    message: str,
) -> None:
    config = PrometheusConfig(prometheus.url, selector=selector, rate_window="5s")
    source = metrics_for(shared_native_gateway, prometheus=config)
    assert source is not None
    snap = source.snapshot()
    assert not snap.ok and message in snap.status
    assert message in source.series(GATEWAY, 300).status
    source.close()


def test_a_slow_prometheus_costs_one_timeout_not_a_freeze(
    shared_native_gateway: NativeConnector, prometheus: PrometheusProcess, scraped: str
) -> None:
    slow = AuthProxy(prometheus.url, token=None, delay=3.0)
    try:
        config = PrometheusConfig(slow.url, timeout=0.5, rate_window="5s")
        source = metrics_for(shared_native_gateway, prometheus=config)
        assert source is not None
        started = time.monotonic()
        snap = source.snapshot()
        assert time.monotonic() - started < 2.0
        assert "did not answer within 0.5 s" in snap.status
        source.close()
    finally:
        slow.close()


def test_prometheus_restarting_shows_no_data_since_then_recovers(
    shared_native_gateway: NativeConnector,
) -> None:
    own = PrometheusProcess([admin_target(shared_native_gateway.stats_url)], binary=require_prometheus())
    own.start()
    try:
        source = metrics_for(shared_native_gateway, prometheus=PrometheusConfig(own.url, rate_window="5s"))
        assert source is not None
        with Traffic(shared_native_gateway.listener_url(), "canary.test", 20):
            wait_until(lambda: source.snapshot().routes.get("canary"), timeout=20, what="first data")
            own.stop(remove=False)
            down = source.snapshot()
            assert not down.ok and f"cannot reach Prometheus at {own.url}" in down.status
            chart = source.series(Scope("canary"), 300)
            assert not chart.ok and chart.status == source.status()
            own.start()  # same port, same data
            back = wait_until(
                lambda: source.snapshot().routes.get("canary"), timeout=20, what="Prometheus back"
            )
        assert back.rps > 0 and source.status() == "ok"
        assert source.series(Scope("canary"), 300).ok
        source.close()
    finally:
        own.stop()
