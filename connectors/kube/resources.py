"""The Kubernetes resource types the connectors read and write, and keys for objects of them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """One REST resource in one API version, e.g. ``virtualservices.networking.istio.io/v1``."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def qualified(self) -> str:
        """``virtualservices.networking.istio.io``: how RBAC messages and kubectl name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def at(self, version: str) -> Resource:
        return replace(self, version=version)


# Istio: networking.istio.io/v1 is the stored version since Istio 1.22; EnvoyFilter stays v1alpha3.
VIRTUAL_SERVICE = Resource("networking.istio.io", "v1", "virtualservices", "VirtualService")
DESTINATION_RULE = Resource("networking.istio.io", "v1", "destinationrules", "DestinationRule")
ISTIO_GATEWAY = Resource("networking.istio.io", "v1", "gateways", "Gateway")
ENVOY_FILTER = Resource("networking.istio.io", "v1alpha3", "envoyfilters", "EnvoyFilter")
REQUEST_AUTHENTICATION = Resource(
    "security.istio.io", "v1", "requestauthentications", "RequestAuthentication"
)
AUTHORIZATION_POLICY = Resource("security.istio.io", "v1", "authorizationpolicies", "AuthorizationPolicy")

# Gateway API (standard and experimental channels serve the same v1 kinds).
HTTP_ROUTE = Resource("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")
GATEWAY = Resource("gateway.networking.k8s.io", "v1", "gateways", "Gateway")

# Envoy Gateway policies.
BACKEND_TRAFFIC_POLICY = Resource(
    "gateway.envoyproxy.io", "v1alpha1", "backendtrafficpolicies", "BackendTrafficPolicy"
)
SECURITY_POLICY = Resource("gateway.envoyproxy.io", "v1alpha1", "securitypolicies", "SecurityPolicy")
CLIENT_TRAFFIC_POLICY = Resource(
    "gateway.envoyproxy.io", "v1alpha1", "clienttrafficpolicies", "ClientTrafficPolicy"
)

# Core objects the metrics hooks and traffic addresses read (never written).
POD = Resource("", "v1", "pods", "Pod")
POD_LOG = Resource("", "v1", "pods/log", "Pod")
SERVICE = Resource("", "v1", "services", "Service")

# Older versions still served by clusters that predate the v1 promotions, best first.
FALLBACK_VERSIONS: dict[str, tuple[str, ...]] = {
    "networking.istio.io": ("v1", "v1beta1", "v1alpha3"),
    "security.istio.io": ("v1", "v1beta1"),
    "gateway.networking.k8s.io": ("v1", "v1beta1"),
    "gateway.envoyproxy.io": ("v1alpha1",),
}


@dataclass(frozen=True, order=True)
class ObjKey:
    """Identifies one object: resource (group/plural), namespace and name."""

    group: str
    plural: str
    namespace: str
    name: str

    @classmethod
    def of(cls, resource: Resource, namespace: str, name: str) -> ObjKey:
        return cls(resource.group, resource.plural, namespace, name)

    @classmethod
    def for_object(cls, resource: Resource, obj: JsonDict) -> ObjKey:
        meta = obj.get("metadata") or {}
        return cls(resource.group, resource.plural, meta.get("namespace") or "", meta.get("name") or "")

    def is_a(self, resource: Resource) -> bool:
        return (self.group, self.plural) == (resource.group, resource.plural)
