"""Issue 11: raising a limit's requests above a lower burst must not silently cap the bucket.

Envoy's local rate limit is a token bucket of ``max_tokens`` (the burst) refilled with
``tokens_per_fill`` (the requests), never above ``max_tokens``: 50 requests a second with the burst
left at 20 passes at most 20. In the console's form and in ``set-rate-limit`` a burst the operator
did not set follows the new rate, and the diff says so ("burst 20 → 50 (raised to the new rate)");
a burst the operator typed below the requests is refused in one line naming the field. Istio and
Envoy Gateway plans agree. Real native Envoy and real requests; the Kubernetes API emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Button, Input

from connectors.change import Change
from connectors.errors import ValidationError
from connectors.http_client import http_client
from connectors.model import RateLimit
from connectors.model.edits import set_rate_limit
from connectors.native import NativeConnector
from tests.kube_cold_manifests import eg_cold_fixture, istio_cold_fixture  # noqa: F401 - fixtures
from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import Connect, connect_fixture, kube_state_fixture  # noqa: F401 - fixtures
from tests.test_tui_support import visible_text
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.cli import main
from tui.screens.diff import DiffScreen
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.routes import RoutesScreen

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
RAISED = "burst 20 → 50 (raised to the new rate)"


@pytest.fixture
def gw(shared_native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    """The shared gateway, its ``limited`` route at 10 per minute with a burst of 20 for the test,
    put back as it was afterwards."""
    gateway = shared_native_gateway
    before = gateway.gateway()
    route = gateway.get_route("limited")
    Change(gateway).apply(gateway.plan([set_rate_limit(route, RateLimit(10, 60.0, burst=20))]))
    yield gateway
    Change(gateway).apply(gateway.plan_gateway(before))


def passed(gw: NativeConnector, host: str, path: str, n: int) -> int:
    """How many of ``n`` back-to-back requests the gateway let through (not 429)."""
    with http_client(base_url=gw.listener_url(), timeout=5) as c:
        return sum(c.get(path, headers={"host": host}).status_code != 429 for _ in range(n))


def cli(gw: NativeConnector, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--gateway", str(gw.state_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_set_rate_limit_above_the_burst_raises_it_and_envoy_passes_the_new_rate(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(gw, capsys, "set-rate-limit", "limited", "--requests", "50")
    assert rc == 0, err
    assert f"rate limit of limited: {RAISED}: the bucket holds 50 requests, refilled with 50 every 1m" in out
    assert gw.get_route("limited").rate_limit == RateLimit(50, 60.0)
    # The edit refilled the bucket: a minute's 50 pass at once, the 51st is refused.
    assert passed(gw, "limited.test", "/", 55) == 50


def test_a_burst_typed_below_the_requests_is_one_line_naming_the_field_and_nothing_changes(
    gw: NativeConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    before = gw.config_path.read_bytes()
    rc, _out, err = cli(gw, capsys, "set-rate-limit", "limited", "--requests", "50", "--burst", "20")
    assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "limited.rate_limit.burst: 20 is smaller than the 50 requests per 1m" in err
    assert "make the burst at least 50" in err
    assert gw.config_path.read_bytes() == before


def test_the_native_plan_refuses_a_bucket_smaller_than_one_fill(gw: NativeConnector) -> None:
    route = gw.get_route("limited")
    with pytest.raises(ValidationError) as refused:
        gw.plan([set_rate_limit(route, RateLimit(50, 60.0, burst=20))])
    (problem,) = refused.value.problems
    assert problem.path.endswith("rate_limit.burst") and "smaller than the 50 requests" in problem.message
    # Switching such a limit off keeps its numbers: not this edit's to refuse.
    plan = gw.plan([set_rate_limit(route, RateLimit(10, 60.0, burst=20, enabled=False))])
    assert not any("burst" in w for w in plan.warnings)


@pytest.mark.parametrize("size", SIZES)
async def test_the_form_raises_an_untouched_burst_and_the_diff_shows_the_bucket(
    demo_gateway: NativeConnector, size: tuple[int, int]
) -> None:
    """The demo's api-limited (10/s, burst 20): typing 50 requests shows the raised burst under the
    form and in the diff; applied, Envoy lets 50 through at once. A burst typed below the
    requests is marked and Apply stays disabled."""
    gw = demo_gateway
    before = gw.gateway()
    app = ConsoleApp(gw)
    try:
        async with app.run_test(size=size) as pilot:
            await wait_until_ui(pilot, lambda: app.connection.status == "connected" and app.routes_loaded)
            await pilot.press("slash", *"^api-limited$", "enter", "r")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RateLimitEditor), what="the form")
            form = app.screen
            assert isinstance(form, RateLimitEditor)
            await pilot.pause()
            burst = form.query_one("#burst", Input)
            assert burst.value == "20"
            await pilot.press("5", "0")
            await wait_until_ui(pilot, lambda: RAISED in visible_text(app), what="the raised burst shown")
            assert form.candidate is not None and form.candidate.rate_limit == RateLimit(50, 1.0)

            burst.value = "30"
            await wait_until_ui(pilot, lambda: "30 is smaller than the 50 requests" in visible_text(app))
            assert form.query_one("#apply", Button).disabled
            burst.value = "20"  # back as it was: untouched, so it follows the rate again
            await wait_until_ui(pilot, lambda: not form.query_one("#apply", Button).disabled)

            await pilot.press("ctrl+s")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
            diff = app.screen
            assert isinstance(diff, DiffScreen)
            await wait_until_ui(pilot, lambda: RAISED in visible_text(app), what="the bucket in the diff")
            await pilot.press("a")
            await wait_until_ui(pilot, lambda: diff.state == "done", seconds=30, what="applied")
            assert diff.result is not None and diff.result.verification.ok, visible_text(app)
            await pilot.press("escape")
            await wait_until_ui(pilot, lambda: isinstance(app.screen, RoutesScreen))
        assert gw.get_route("api-limited").rate_limit == RateLimit(50, 1.0)
        assert passed(gw, "api.demo", "/limited/x", 50) == 50, "a fresh 50-token bucket passes 50 at once"
    finally:
        Change(gw).apply(gw.plan_gateway(before))


def test_istio_plans_agree_a_lower_burst_is_refused_and_an_untouched_one_raised(
    istio_cold: KubeEmulator, connect: Connect
) -> None:
    connector = connect(namespace="shop")
    route = connector.get_route("api")
    assert route.rate_limit == RateLimit(10, 1.0, burst=20)
    with pytest.raises(ValidationError) as refused:
        connector.plan([set_rate_limit(route, RateLimit(50, 1.0, burst=20))])
    (problem,) = refused.value.problems
    assert problem.path == "routes.api.rate_limit.burst" and "smaller than the 50 requests" in problem.message
    plan = connector.plan([set_rate_limit(route, RateLimit(50, 1.0))])
    assert f"rate limit of api: {RAISED}: the bucket holds 50 requests, refilled with 50 every second" in (
        plan.warnings
    )


def test_envoy_gateway_refuses_a_lower_burst_in_one_line(eg_cold: KubeEmulator, connect: Connect) -> None:
    connector = connect(namespace="store")
    route = connector.get_route("checkout")
    with pytest.raises(ValidationError) as refused:
        connector.plan([set_rate_limit(route, RateLimit(50, 1.0, burst=20))])
    (problem,) = refused.value.problems
    assert problem.path == "routes.checkout.rate_limit.burst"
