"""The console's CORS probe reaches a route through the native gateway without the operator typing a URL."""

from __future__ import annotations

from dataclasses import replace

from connectors.http_client import http_client
from connectors.native import NativeConnector


def test_traffic_url_reaches_each_route_on_its_host(shared_native_gateway: NativeConnector) -> None:
    gw = shared_native_gateway
    with http_client(timeout=5) as client:
        for name, path, backend in (
            ("host-v1", "/", "v1"),
            ("host-v2", "/", "v2"),
            ("path-v2", "/v2/x", "v2"),
        ):
            target = gw.traffic_url(gw.get_route(name))
            assert target is not None
            base, host = target
            assert base == gw.listener_url()
            response = client.get(base + path, headers={"host": host})
            assert response.status_code == 200
            assert response.headers["x-backend"] == backend


def test_wildcard_hosts_get_a_concrete_host_name(shared_native_gateway: NativeConnector) -> None:
    route = replace(shared_native_gateway.get_route("host-v1"), hosts=("*.shop.test",))
    target = shared_native_gateway.traffic_url(route)
    assert target is not None and target[1] == "www.shop.test"
