"""Both metric sources count a route and its backends the same way, as Envoy does: a route's requests
include those Envoy answers itself (JWT 401s, 429s, CORS preflights); a backend's requests are those
that reached it. Figures are checked against Envoy's own counters and the responses the client got,
with each source (admin stats, a real Prometheus) against a real Envoy with real traffic."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from connectors.demo.prometheus import PrometheusProcess
from connectors.metrics import MetricsSource, PrometheusConfig, metrics_for
from connectors.metrics.counts import Counts
from connectors.native import NativeConnector
from tests.native_support import JwtSigner, client
from tests.prometheus_support import Traffic, admin_target, counter_sum
from tests.waiting import wait_until


@pytest.fixture(scope="module", params=["admin", "prometheus"])
def source(request: pytest.FixtureRequest, shared_native_gateway: NativeConnector) -> Iterator[MetricsSource]:
    gw = shared_native_gateway
    if request.param == "admin":
        src = metrics_for(gw)
    else:
        prometheus: PrometheusProcess = request.getfixturevalue("prometheus")
        target = admin_target(gw.stats_url)
        prometheus.set_targets([target])
        config = PrometheusConfig(prometheus.url, rate_window="4s", selector=f'instance="{target}"')
        src = metrics_for(gw, prometheus=config)
    assert src is not None
    wait_until(lambda: src.snapshot().ok, timeout=20, what=f"{request.param} source to have data")
    yield src
    src.close()


def test_a_backends_rate_leaves_out_the_requests_the_rate_limiter_refused(
    source: MetricsSource, shared_native_gateway: NativeConnector
) -> None:
    gw = shared_native_gateway
    upstream = r"^cluster\.limited~v1\.upstream_rq_total$"
    with Traffic(gw.listener_url(), "limited.test", 10) as traffic:

        def steady() -> tuple[float, float] | None:
            stats = source.snapshot().routes.get("limited")
            if stats is None or "v1" not in stats.backends or stats.rps < 8:
                return None
            return stats.rps, stats.backends["v1"].rps

        # Past the bucket (5 requests went through): from here on every request is refused.
        wait_until(lambda: traffic.snapshot()[0][429] > 40, what="the bucket to run dry")
        before = counter_sum(gw.admin_url, upstream)
        route_rps, backend_rps = wait_until(steady, timeout=20, what="the limited route's figures")
        reached = counter_sum(gw.admin_url, upstream) - before
    assert route_rps == pytest.approx(10, rel=0.25)  # the route: everything that came in
    assert reached <= 2  # 5 per minute: the backend saw almost nothing
    assert backend_rps <= 2.0, f"v1 shown {backend_rps:.1f} req/s, but only {reached:g} requests reached it"


def test_a_routes_rate_includes_the_401s_envoy_answers_itself(
    source: MetricsSource, shared_native_gateway: NativeConnector, jwt_signer: JwtSigner
) -> None:
    gw = shared_native_gateway
    token = {"authorization": f"Bearer {jwt_signer.token()}"}
    with (
        Traffic(gw.listener_url(), "secure.test", 4, token) as ok,
        Traffic(gw.listener_url(), "secure.test", 4) as refused,
    ):
        wait_until(lambda: ok.snapshot()[0][200] > 8 and refused.snapshot()[0][401] > 8, what="traffic")

        def rate() -> float | None:
            stats = source.snapshot().routes.get("secure")
            return stats.rps if stats is not None and stats.rps > 6.4 else None

        shown = wait_until(rate, timeout=20, what="the secure route's rate to count its 401s (8 req/s sent)")
        time.sleep(2)
        later = source.snapshot().routes["secure"]
    assert shown == pytest.approx(8, rel=0.2)
    assert later.rps == pytest.approx(8, rel=0.2)
    assert later.by_class.get("4xx", 0) == pytest.approx(4, rel=0.35)
    assert later.backends["v1"].rps == pytest.approx(4, rel=0.35)  # only the requests with a token


def _send(gw: NativeConnector, signer: JwtSigner) -> dict[str, Counter[str]]:
    """A known mix of requests: what each route's client got (by backend, or by status when Envoy
    answered itself)."""
    got: dict[str, Counter[str]] = {k: Counter() for k in ("canary", "secure", "cors", "limited")}
    with client(gw) as c:
        for _ in range(60):
            got["canary"][c.get("/", headers={"host": "canary.test"}).headers["x-backend"]] += 1
        token = {"authorization": f"Bearer {signer.token()}"}
        for i in range(12):
            r = c.get("/", headers={"host": "secure.test", **(token if i % 3 == 0 else {})})
            got["secure"][r.headers.get("x-backend") or str(r.status_code)] += 1
        preflight = {
            "host": "cors.test",
            "origin": "https://app.example",
            "access-control-request-method": "POST",
        }
        for _ in range(7):
            r = c.options("/", headers=preflight)
            got["cors"][r.headers.get("x-backend") or str(r.status_code)] += 1
        for _ in range(9):
            r = c.get("/", headers={"host": "limited.test", "x-user-id": "counted"})
            got["limited"][r.headers.get("x-backend") or str(r.status_code)] += 1
    return got


def _quiet(source: MetricsSource) -> float:
    """A time after which nothing has happened: counts start at the reading before a time, so the
    traffic of the test before must be over for a whole reading."""

    def quiet() -> float | None:
        mark = time.time()
        before = source.counts(mark - 1.5)
        return mark if before.ok and not any(r.requests for r in before.routes.values()) else None

    return wait_until(quiet, timeout=20, what="the gateway to be quiet")


def test_counts_since_a_time_are_exact_per_route_and_backend(
    source: MetricsSource, shared_native_gateway: NativeConnector, jwt_signer: JwtSigner
) -> None:
    gw = shared_native_gateway
    since = _quiet(source)
    got = _send(gw, jwt_signer)

    def counted() -> Counts | None:
        counts = source.counts(since)
        routes = counts.routes
        want = {
            "canary": (60, {"v1": got["canary"]["v1"], "v2": got["canary"]["v2"]}, 0),
            "secure": (12, {"v1": got["secure"]["v1"]}, got["secure"]["401"]),
            "cors": (7, {"v1": got["cors"]["v1"]}, got["cors"]["200"]),
            "limited": (9, {"v1": got["limited"]["v1"]}, got["limited"]["429"]),
        }
        seen = {
            name: (
                r.requests,
                {b: c.requests for b, c in r.backends.items() if c.requests},
                r.local,
            )
            for name, r in routes.items()
            if name in want
        }
        ok = all(
            seen.get(k) == (n, {b: v for b, v in bs.items() if v}, loc) for k, (n, bs, loc) in want.items()
        )
        return counts if ok else None

    counts = wait_until(counted, timeout=15, what=f"counts to match what the clients got: {got}")
    assert counts.routes["limited"].limited == got["limited"]["429"] > 0
    # A source made afterwards (the headless commands) counts the same from the gateway's records.
    fresh = metrics_for(gw) if source.name == "envoy-admin" else None
    if fresh is not None:
        try:
            again = fresh.counts(since)
            assert {k: v.requests for k, v in again.routes.items() if k in got} == {
                k: v.requests for k, v in counts.routes.items() if k in got
            }
        finally:
            fresh.close()
