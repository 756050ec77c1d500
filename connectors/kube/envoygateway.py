"""Envoy Gateway: HTTPRoutes plus BackendTrafficPolicy (rate limits) and SecurityPolicy (CORS, JWT)."""

from .gatewayapi.connector import EnvoyGatewayConnector, GatewayApiConnector

__all__ = ["EnvoyGatewayConnector", "GatewayApiConnector"]
