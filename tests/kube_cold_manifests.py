"""Manifests of the kind a tester new to the tool wrote for a cold try of the Kubernetes gateways
(Istio ingress gateway with local and global rate-limit EnvoyFilters; Envoy Gateway with a route
attached to two Gateways), and a fixture loading them into the emulator (schema-validated).

No tests here: ``test_kube_cold_*`` use them."""

from __future__ import annotations

import pytest

from tests.kube_emulator import KubeEmulator

ISTIO = r"""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public-gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/public-gw]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    route:
    - destination: {host: api, subset: v1}
      weight: 90
    - destination: {host: api, subset: v2}
      weight: 10
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: "5xx,reset,retriable-status-codes"
      retryRemoteLocalities: true
    fault:
      abort: {httpStatus: 503, percentage: {value: 5}}
  - name: web
    route:
    - destination: {host: web}
    corsPolicy:
      allowOrigins: [{exact: "*"}, {regex: "https://.*\\.shop\\.example\\.com"}]
      allowMethods: [GET, POST]
      maxAge: 24h
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  trafficPolicy:
    connectionPool: {http: {http1MaxPendingRequests: 10, maxRequestsPerConnection: 5}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: other, namespace: other}
spec:
  hosts: [other.example.com]
  gateways: [istio-system/public-gw]
  http:
  - name: main
    route:
    - destination: {host: other}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: gw-local-rl, namespace: istio-system}
spec:
  workloadSelector:
    labels: {istio: ingressgateway}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: GATEWAY
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value: {stat_prefix: http_local_rate_limiter}
  - applyTo: HTTP_ROUTE
    match:
      context: GATEWAY
      routeConfiguration:
        vhost:
          name: "shop.example.com:80"
          route: {name: api}
    patch:
      operation: MERGE
      value:
        typed_per_filter_config:
          envoy.filters.http.local_ratelimit:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: http_local_rate_limiter
              token_bucket: {max_tokens: 20, tokens_per_fill: 10, fill_interval: 1s}
              filter_enabled:
                runtime_key: local_rate_limit_enabled
                default_value: {numerator: 100, denominator: HUNDRED}
              filter_enforced:
                runtime_key: local_rate_limit_enforced
                default_value: {numerator: 100, denominator: HUNDRED}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: filter-ratelimit, namespace: istio-system}
spec:
  workloadSelector:
    labels: {istio: ingressgateway}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: GATEWAY
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
          domain: ratelimit
          failure_mode_deny: true
          timeout: 10s
          rate_limit_service:
            grpc_service:
              envoy_grpc:
                cluster_name: outbound|8081||ratelimit.default.svc.cluster.local
                authority: ratelimit.default.svc.cluster.local
            transport_api_version: V3
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: filter-ratelimit-svc, namespace: istio-system}
spec:
  workloadSelector:
    labels: {istio: ingressgateway}
  configPatches:
  - applyTo: VIRTUAL_HOST
    match:
      context: GATEWAY
      routeConfiguration:
        vhost:
          name: "other.example.com:80"
          route: {action: ANY}
    patch:
      operation: MERGE
      value:
        rate_limits:
        - actions:
          - request_headers: {header_name: ":path", descriptor_key: "PATH"}
---
apiVersion: v1
kind: Pod
metadata:
  name: istio-ingressgateway-abc
  namespace: istio-system
  labels: {istio: ingressgateway, app: istio-ingressgateway}
spec:
  containers:
  - name: istio-proxy
    image: docker.io/istio/proxyv2:1.24.0
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: other2, namespace: other}
spec:
  hosts: [api.example.com, x.other.org]
  gateways: [istio-system/public-gw]
  http:
  - name: api
    route:
    - destination: {host: other2}
"""

ENVOY_GATEWAY = r"""
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-a, namespace: store}
spec:
  gatewayClassName: eg
  listeners:
  - name: public
    protocol: HTTP
    port: 80
    hostname: "*.store.example.com"
  - name: admin
    protocol: HTTP
    port: 8080
    hostname: "admin.store.example.com"
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-b, namespace: store}
spec:
  gatewayClassName: eg
  listeners:
  - name: http
    protocol: HTTP
    port: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: store}
spec:
  parentRefs:
  - {name: gw-a, sectionName: public}
  - {name: gw-b}
  hostnames: ["shop.store.example.com", "shop.other.com"]
  rules:
  - name: checkout
    matches: [{path: {type: PathPrefix, value: /checkout}}]
    backendRefs:
    - {name: checkout-v1, port: 8080, weight: 90}
    - {name: checkout-v2, port: 8080, weight: 10}
  - name: catalog
    matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs:
    - {name: catalog, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: admin, namespace: store}
spec:
  parentRefs:
  - {name: gw-a, sectionName: admin}
  hostnames: ["admin.store.example.com"]
  rules:
  - backendRefs:
    - {name: admin, port: 8080}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: shop-btp, namespace: store}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop}
  retry:
    numRetries: 5
    perRetry:
      backOff: {baseInterval: 100ms, maxInterval: 10s}
      timeout: 250ms
    retryOn:
      httpStatusCodes: [500, 503]
      triggers: [connect-failure, retriable-status-codes]
  rateLimit:
    type: Local
    local:
      rules:
      - limit: {requests: 100, unit: Minute}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: public-cors, namespace: store}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: gw-a, sectionName: public}
  cors:
    allowOrigins: ["https://*.store.example.com", "http://localhost:3000"]
    allowMethods: [GET, POST]
    allowHeaders: [content-type]
    maxAge: 10m
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: gw-b-global, namespace: store}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: gw-b}
  rateLimit:
    type: Global
    global:
      rules:
      - clientSelectors:
        - headers: [{name: x-user-id, type: Distinct}]
        limit: {requests: 20, unit: Second}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: blog, namespace: store}
spec:
  parentRefs:
  - {name: gw-b}
  hostnames: ["blog.store.example.com"]
  rules:
  - backendRefs:
    - {name: blog, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: wide, namespace: store}
spec:
  parentRefs:
  - {name: gw-a, sectionName: public}
  hostnames: ["*.example.com", "foo.bar.org"]
  rules:
  - backendRefs:
    - {name: wide, port: 8080}
"""


@pytest.fixture(name="istio_cold")
def istio_cold_fixture(kube_emulator: KubeEmulator) -> KubeEmulator:
    for namespace in ("istio-system", "shop", "other"):
        kube_emulator.create_namespace(namespace)
    kube_emulator.load_manifests(ISTIO)
    return kube_emulator


@pytest.fixture(name="eg_cold")
def eg_cold_fixture(kube_emulator: KubeEmulator) -> KubeEmulator:
    kube_emulator.create_namespace("store")
    kube_emulator.load_manifests(ENVOY_GATEWAY)
    return kube_emulator
