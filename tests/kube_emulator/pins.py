"""The upstream files the Kubernetes tests read: where each comes from (a URL at a pinned commit) and its
sha256. `./dev crds` downloads them into the reference cache; `reference.py` finds them.

The pins were computed from `../shared/` and checked against the upstream repositories at these commits
(`git show <commit>:<path> | sha256sum` gives the same digests):
- istio/istio 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c (CRDs from the base chart; Bookinfo samples;
  the local rate limit test data)
- envoyproxy/gateway d32f28294245e454d20f81d323d626a90e660c1e (the Gateway API v1.6.1 bundle it ships,
  its policy CRDs, `examples/kubernetes/` and `test/e2e/testdata/`)
"""

from __future__ import annotations

from dataclasses import dataclass

ISTIO_COMMIT = "86c9f01fd735fb01d8192f5bcaf0d424afb7f14c"
ENVOY_GATEWAY_COMMIT = "d32f28294245e454d20f81d323d626a90e660c1e"
_ISTIO = f"https://raw.githubusercontent.com/istio/istio/{ISTIO_COMMIT}/"
_ENVOY_GATEWAY = f"https://raw.githubusercontent.com/envoyproxy/gateway/{ENVOY_GATEWAY_COMMIT}/"


@dataclass(frozen=True)
class Pin:
    path: str  # where the file lives under the reference root: `crds/...` or `examples/...`
    url: str
    sha256: str


PINS: tuple[Pin, ...] = (
    Pin(
        "crds/istio/crd-all.gen.yaml",
        _ISTIO + "manifests/charts/base/files/crd-all.gen.yaml",
        "0ea765a267c9cc96fae6c29f42566fbc31110de5abecc3d7c57210ad2a787013",
    ),
    Pin(
        "crds/gateway-api/gatewayapi-crds.yaml",
        _ENVOY_GATEWAY + "charts/gateway-helm/charts/crds/crds/gatewayapi-crds.yaml",
        "f0342ed49e7cd1b62624659984ea2934addd334efc8630827d0e1a81194b157a",
    ),
    Pin(
        "crds/envoy-gateway/backends.yaml",
        _ENVOY_GATEWAY + "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_backends.yaml",
        "bb1901aea758d05458b853b07db04a96a1ea4346b177e392e5ce7398573805be",
    ),
    Pin(
        "crds/envoy-gateway/backendtrafficpolicies.yaml",
        _ENVOY_GATEWAY
        + "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_backendtrafficpolicies.yaml",
        "cd75a4c222df5487aa9ca8957b48bcc3255eb25de02ed9153faf620bc160f786",
    ),
    Pin(
        "crds/envoy-gateway/clienttrafficpolicies.yaml",
        _ENVOY_GATEWAY
        + "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_clienttrafficpolicies.yaml",
        "30ab42526432d9e78f388a86dd7e1f6466678262f465f913cd73ee8e50e4cf57",
    ),
    Pin(
        "crds/envoy-gateway/envoyproxies.yaml",
        _ENVOY_GATEWAY
        + "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_envoyproxies.yaml",
        "7712b158a59d11c4a28dc976655bb981ad4eb42312ff2c85a7e0b42ef6d465c2",
    ),
    Pin(
        "crds/envoy-gateway/httproutefilters.yaml",
        _ENVOY_GATEWAY
        + "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_httproutefilters.yaml",
        "ad46193dbec0a28cc97fa93a64bcd1f464858544d884eeac5e4d767526dcfd3d",
    ),
    Pin(
        "crds/envoy-gateway/securitypolicies.yaml",
        _ENVOY_GATEWAY
        + "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_securitypolicies.yaml",
        "6412914ec5b7c48f58b85f60a80767ba15a50c8d374480cf5f2d872e4a764466",
    ),
    Pin(
        "examples/istio/bookinfo-gateway.yaml",
        _ISTIO + "samples/bookinfo/networking/bookinfo-gateway.yaml",
        "e44689518453b3e4163ed5dcb6f2260cf50b47bffbb6916a156a6f3668bd186d",
    ),
    Pin(
        "examples/istio/destination-rule-all.yaml",
        _ISTIO + "samples/bookinfo/networking/destination-rule-all.yaml",
        "d80b5e7effff1c4f5db089c7fcd33ad7cfe8708b6e27ac7cb502c57f3f55f88c",
    ),
    Pin(
        "examples/istio/destination-rule-reviews.yaml",
        _ISTIO + "samples/bookinfo/networking/destination-rule-reviews.yaml",
        "5fa88f06e0210ae0b7981492129dddd9c2121a260088a23b55ee5c4a860cd309",
    ),
    Pin(
        "examples/istio/enable_envoy_local_ratelimit_per_route.yaml",
        _ISTIO + "tests/integration/telemetry/policy/testdata/enable_envoy_local_ratelimit_per_route.yaml",
        "d0a84ed8ca295939976e4446675d444be6e5044b52822e6fb51f30dd8600e032",
    ),
    Pin(
        "examples/istio/local-rate-limit-service.yaml",
        _ISTIO + "samples/ratelimit/local-rate-limit-service.yaml",
        "484a0e190881ba7f2ad3f39c82147529282e01fb4137d55450dc2e1bb8e0cef8",
    ),
    Pin(
        "examples/istio/virtual-service-all-v1.yaml",
        _ISTIO + "samples/bookinfo/networking/virtual-service-all-v1.yaml",
        "d0538009109cc1e764c964fab4f7008bfd3dc7f868af7f06f578ee21e16fcabc",
    ),
    Pin(
        "examples/istio/virtual-service-reviews-50-v3.yaml",
        _ISTIO + "samples/bookinfo/networking/virtual-service-reviews-50-v3.yaml",
        "a656d92f057c089a7f39b2113dbc68a1d82f9b35b31e4ceef41a7c3085f67bc8",
    ),
    Pin(
        "examples/istio/virtual-service-reviews-80-20.yaml",
        _ISTIO + "samples/bookinfo/networking/virtual-service-reviews-80-20.yaml",
        "c14a7e9c369672220da2ff43e271cfc64c31a314768666dca85ac3f80ffffd96",
    ),
    Pin(
        "examples/istio/virtual-service-reviews-90-10.yaml",
        _ISTIO + "samples/bookinfo/networking/virtual-service-reviews-90-10.yaml",
        "39b070c67019893065b1dc45a298a443f884eb98b1484941f02bf90e343c29ca",
    ),
    Pin(
        "examples/istio/virtual-service-reviews-v3.yaml",
        _ISTIO + "samples/bookinfo/networking/virtual-service-reviews-v3.yaml",
        "c98eed9c7ed91954718856d293b4ee61d4bace1015726ea65d7bc5cbb714cd92",
    ),
    Pin(
        "examples/envoy-gateway/cors-security-policy.yaml",
        _ENVOY_GATEWAY + "test/e2e/testdata/cors-security-policy.yaml",
        "4d3dfeedea3e560b04c5a19d5ffb641dfcf9508773041eb3db8bb420c00ed929",
    ),
    Pin(
        "examples/envoy-gateway/http-routing.yaml",
        _ENVOY_GATEWAY + "examples/kubernetes/http-routing.yaml",
        "b51080ac2693d265b634184977f93a453051cef1556daa7ebaae64c64ab8d060",
    ),
    Pin(
        "examples/envoy-gateway/jwt.yaml",
        _ENVOY_GATEWAY + "examples/kubernetes/jwt/jwt.yaml",
        "627904b35754f2a77b4bb1b0f23a34b9ae0e432b62dd5dc42146f604483119d9",
    ),
    Pin(
        "examples/envoy-gateway/local-ratelimit.yaml",
        _ENVOY_GATEWAY + "test/e2e/testdata/local-ratelimit.yaml",
        "d5c4dca814ec4c2a2c33427074c3da039c9854291acd47b3d3e3249c6c410ba7",
    ),
    Pin(
        "examples/envoy-gateway/quickstart.yaml",
        _ENVOY_GATEWAY + "examples/kubernetes/quickstart.yaml",
        "c302488425fd7545375e6bef9e843bc7a8b8d2a91a6146afa37a4a6a479a32b8",
    ),
    Pin(
        "examples/envoy-gateway/weighted-backend-all-equal.yaml",
        _ENVOY_GATEWAY + "test/e2e/testdata/weighted-backend-all-equal.yaml",
        "b0988b4490645474d516c1ae92534f5634061d80fb6efafdf1357bfc72e64403",
    ),
    Pin(
        "examples/envoy-gateway/weighted-backend-bluegreen.yaml",
        _ENVOY_GATEWAY + "test/e2e/testdata/weighted-backend-bluegreen.yaml",
        "771f0cf75e9829bfe50463ea0671306ca8d99793e7e309079307a7434ed70987",
    ),
    Pin(
        "examples/envoy-gateway/weighted-backend-completing-rollout.yaml",
        _ENVOY_GATEWAY + "test/e2e/testdata/weighted-backend-completing-rollout.yaml",
        "4cb316bc614e82c8a669580283b99b6e6da1bb0b18207b057cbaccbd58a15ef5",
    ),
)
