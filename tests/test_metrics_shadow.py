"""With ``--prometheus``, a shadowed limit's would-be refusals are not counted as the gateway's
refusals (as the admin source already leaves them out): real Envoy, real Prometheus, real traffic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.change import Change
from connectors.demo.prometheus import PrometheusProcess
from connectors.http_client import http_get
from connectors.metrics import PrometheusConfig, RouteStats, metrics_for
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.prometheus_support import Traffic, admin_target
from tests.waiting import wait_until

ROUTE, HOST = "limited", "limited.test"


@pytest.fixture
def shadowed(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    gw = shared_native_gateway
    before = gw.gateway()
    route = gw.get_route(ROUTE)
    change = Change(gw)
    change.apply(
        change.plan_edit("rate_limit", route, set_rate_limit(route, RateLimit(1, 60.0, shadow=True)))
    )
    yield gw
    Change(gw).apply(gw.plan_gateway(before))


def prom_value(prometheus: PrometheusProcess, query: str) -> float:
    answer = http_get(f"{prometheus.url}/api/v1/query", params={"query": query}, timeout=5).json()
    return sum(float(r["value"][1]) for r in answer["data"]["result"])


def test_shadow_would_be_refusals_are_not_the_gateways_refusals(
    shadowed: NativeConnector, prometheus: PrometheusProcess
) -> None:
    prometheus.set_targets([admin_target(shadowed.stats_url)])
    source = metrics_for(shadowed, prometheus=PrometheusConfig(prometheus.url, rate_window="5s"))
    assert source is not None
    would_refuse = (
        "rate(envoy_http_local_rate_limit_rate_limited"
        '{envoy_local_http_ratelimit_prefix=~"gw_shadow_.*"}[5s])'
    )
    try:
        with Traffic(shadowed.listener_url(), HOST, 20) as traffic:
            wait_until(
                lambda: prom_value(prometheus, would_refuse) > 1, timeout=30, what="would-be refusals scraped"
            )

            def busy() -> RouteStats | None:
                gateway = source.snapshot().gateway
                return gateway if gateway is not None and gateway.rps > 1 else None

            gateway = wait_until(busy, timeout=20, what="the traffic in Prometheus")
            route = source.snapshot().routes[ROUTE]
        assert 429 not in traffic.statuses, "a shadow limit refuses nothing"
        assert gateway.limited_rps == 0.0, "the shadow limiter's would-be refusals are not refusals"
        assert route.limited_rps == 0.0
    finally:
        source.close()
