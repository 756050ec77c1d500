"""Where clients reach a cluster route (the CORS editor's probe): the Gateway's status address and
listener for Gateway API routes, the ingress Service's load-balancer address and the Gateway
server's port for Istio; None while no address is known. (A real request through the address
is in ``test_kube_metrics``.)"""

from __future__ import annotations

from typing import Any

from tests.kube_emulator import KubeEmulator
from tests.test_kube_support import (  # noqa: F401 - fixtures
    Connect,
    connect_fixture,
    kube_state_fixture,
    load,
    obj,
)

GATEWAY_API = "gateway.networking.k8s.io"


def gateway(listeners: list[dict[str, Any]], address: str | None, name: str = "edge") -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"gatewayClassName": "eg", "listeners": listeners},
    }
    if address is not None:
        out["status"] = {"addresses": [{"type": "IPAddress", "value": address}]}
    return out


def http_route(parent: dict[str, Any], hostnames: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {
            "parentRefs": [parent],
            "hostnames": hostnames,
            "rules": [{"backendRefs": [{"name": "shop", "port": 8080}]}],
        },
    }


LISTENERS = [
    {"name": "http", "protocol": "HTTP", "port": 80},
    {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.example.com"},
]


def test_the_listener_the_route_attaches_to_gives_the_port_and_scheme(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    kube_emulator.load_manifests(
        [
            gateway(LISTENERS, "203.0.113.10"),
            http_route({"name": "edge", "sectionName": "https"}, ["*.example.com"]),
        ]
    )
    connector = connect()
    route = connector.get_route("shop-0")
    # A wildcard hostname needs a concrete Host the listener accepts.
    assert connector.traffic_url(route) == ("https://203.0.113.10:443", "www.example.com")

    kube_emulator.load_manifests([http_route({"name": "edge", "port": 80}, ["shop.example.com"])])
    connector.list_routes()
    assert connector.traffic_url(connector.get_route("shop-0")) == (
        "http://203.0.113.10:80",
        "shop.example.com",
    )


def test_a_route_without_hostnames_takes_the_listener_hostname_or_the_address(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    listeners = [{"name": "api", "protocol": "HTTP", "port": 8080, "hostname": "api.example.com"}]
    kube_emulator.load_manifests([gateway(listeners, "2001:db8::7"), http_route({"name": "edge"}, [])])
    connector = connect()
    assert connector.traffic_url(connector.get_route("shop-0")) == (
        "http://[2001:db8::7]:8080",
        "api.example.com",
    )


def test_no_address_in_the_gateway_status_means_no_url(kube_emulator: KubeEmulator, connect: Connect) -> None:
    kube_emulator.load_manifests(
        [gateway(LISTENERS, None), http_route({"name": "edge"}, ["shop.example.com"])]
    )
    connector = connect()
    assert connector.traffic_url(connector.get_route("shop-0")) is None
    # A parent Gateway that does not exist is no address either.
    kube_emulator.load_manifests([http_route({"name": "missing"}, ["shop.example.com"])])
    connector.list_routes()
    assert connector.traffic_url(connector.get_route("shop-0")) is None


def ingress_service(load_balancer: dict[str, Any] | None) -> dict[str, Any]:
    """Istio's default ingress gateway Service (port 80 → container port 8080)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "istio-ingressgateway",
            "namespace": "istio-system",
            "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
            "ports": [
                {"name": "status-port", "port": 15021, "targetPort": 15021},
                {"name": "http2", "port": 80, "targetPort": 8080},
            ],
        },
        "status": {"loadBalancer": load_balancer or {}},
    }


def test_istio_routes_are_reached_through_the_ingress_load_balancer(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/bookinfo-gateway.yaml")  # Gateway server port 8080, hosts "*"
    kube_emulator.load_manifests([ingress_service({"ingress": [{"hostname": "lb.example.net"}]})])
    connector = connect()
    # The server's 8080 is the Service's target port: clients use the Service port, 80.
    assert connector.traffic_url(connector.get_route("bookinfo-0")) == (
        "http://lb.example.net:80",
        "lb.example.net",
    )


def test_istio_without_a_load_balancer_address_or_a_gateway_has_no_url(
    kube_emulator: KubeEmulator, connect: Connect
) -> None:
    load(kube_emulator, "istio/bookinfo-gateway.yaml", "istio/virtual-service-reviews-80-20.yaml")
    kube_emulator.load_manifests([ingress_service(None)])
    connector = connect()
    assert connector.traffic_url(connector.get_route("bookinfo-0")) is None  # LB still pending
    assert connector.traffic_url(connector.get_route("reviews-0")) is None  # a mesh route
