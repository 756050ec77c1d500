"""Gateway API HTTPRoutes, alone (any implementation) or with Envoy Gateway's policies."""
