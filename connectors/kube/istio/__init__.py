"""Istio: VirtualServices, DestinationRules, local rate limits as EnvoyFilters, JWT policies."""
